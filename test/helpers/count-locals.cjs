// Preloaded (node --require) into a fuse-native filesystem by
// test/e2e/binding-threads.test.ts: counts the thread locals fuse-native
// allocates (one call of Fuse#_malloc each) and writes the count to the file
// named by SMBFUSE_LOCALS_COUNT every 100 ms.
const { writeFileSync } = require('node:fs');
const Fuse = require('fuse-native');
const out = process.env.SMBFUSE_LOCALS_COUNT;
const malloc = Fuse.prototype._malloc;
let made = 0;
Fuse.prototype._malloc = function (size) {
  made++;
  return malloc.call(this, size);
};
if (out) setInterval(() => writeFileSync(out, String(made)), 100).unref();
