// Preloaded (node --require) into a fuse-native filesystem by
// test/e2e/binding-one-thread.test.ts: counts the request locals the binding
// allocates (one call of Fuse#_malloc each) and writes the count to the file
// named by SMBFUSE_LOCALS_COUNT every 100 ms.
// Only on the main thread: tap's test processes carry an --import hook
// (NODE_OPTIONS, put back by tap whatever the spawner says), and Node runs
// --require again on the hooks' own thread, where another copy of fuse-native
// would count nothing and write 0 over the real count.
const { renameSync, writeFileSync } = require('node:fs');
const { isMainThread } = require('node:worker_threads');
const Fuse = require('fuse-native');
const out = isMainThread ? process.env.SMBFUSE_LOCALS_COUNT : undefined;
const malloc = Fuse.prototype._malloc;
let made = 0;
if (out) {
  Fuse.prototype._malloc = function (size) {
    made++;
    return malloc.call(this, size);
  };
  // Written aside and renamed, so the test never reads a half-written file.
  setInterval(() => {
    writeFileSync(`${out}.new`, String(made));
    renameSync(`${out}.new`, out);
  }, 100).unref();
}
