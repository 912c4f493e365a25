#!/usr/bin/env node
// postinstall: patch fuse-native 2.2.6's C bridge and rebuild it.
//
// What the patch changes (PATCH_VERSION below; src/fuse-binding.ts speaks
// the same layout and checks the version the loaded binary exports):
//  - utimens hands JavaScript both times as seconds (64-bit) + nanoseconds
//    (2.2.6 passes the access time twice, in milliseconds), with UTIME_NOW
//    and UTIME_OMIT kept in the nanoseconds;
//  - fuse_operations sets flag_utime_omit_ok, so libfuse2 calls utimens for
//    `touch -m`, `touch -a` and `tar x` (atime UTIME_OMIT) instead of
//    dropping them; and flag_nullpath_ok with NULL paths handed over as ''
//    (2.2.6 would build a string from NULL), so a path-less open file — only
//    possible with `hard_remove`, which smbfuse does not use — still works;
//  - struct stat is filled with a 64-bit st_ino and times in seconds +
//    nanoseconds (2.2.6: 32-bit ino, milliseconds), and only when the call
//    succeeded (a failure brings fuse-native's 2.2.6-sized default);
//  - open and create take a second answer value, open flags for libfuse's
//    fuse_file_info: bit 0 keep_cache (the kernel keeps the pages it has of
//    the file instead of dropping them at this open). A missing or
//    non-number value counts as 0, never an error: an error in a signal
//    function would leave the request unanswered forever;
//  - the binary exports `smbfuse_patch` = PATCH_VERSION;
//  - FUSE INTERRUPT reaches JavaScript (the "smbfuse interrupt" block of
//    edits; src/fuse-interrupt.ts): the binding matches an INTERRUPT to the
//    request it names as it reads it (patch 20; before, libfuse signalled
//    its thread), notes that request's call as interrupted and wakes the
//    main loop; the binary exports smbfuse_on_interrupt and
//    smbfuse_interrupted, which smbfuse looks for before relying on them.
//  - getxattr of a name outside `user.` is answered ENOTSUP by the binding,
//    as JavaScript would answer it (src/xattr.ts), without a call into
//    JavaScript: the kernel asks for security.capability before every
//    write(2).
//  - FUSE requests of up to 1 MiB instead of 128 KiB (the "smbfuse big
//    requests" block): libfuse2 reads /dev/fuse into 132 KiB buffers, so it
//    cuts max_write to 128 KiB, and it never answers INIT with FUSE_MAX_PAGES
//    (kernel 4.20), so the kernel also splits reads and writes at 32 pages.
//    The mount gets a channel of our own on the same descriptor
//    (fuse_chan_new, public in libfuse2): it reads into buffers of
//    SMBFUSE_MAX_PAGES pages plus headers, so libfuse keeps the mount's
//    max_write; and when the kernel's INIT offered FUSE_MAX_PAGES, it adds
//    that flag and the page count max_write needs to libfuse's INIT answer
//    on its way out. Reads and writes then reach us in up to 1 MiB pieces,
//    one thread hop each instead of eight. If the channel cannot be made,
//    libfuse's own stays (128 KiB requests). The same answer also gains
//    FUSE_ASYNC_DIO when offered (libfuse2 predates it): O_DIRECT reads and
//    writes submitted asynchronously (io_submit, fio's libaio) then reach us
//    together instead of one after another. The channel also holds a short
//    READ answer until every READ of the same node below it is answered: the
//    kernel takes the first short answer as the file's size, so with reads in
//    flight together past the end of a file another client shrank, an empty
//    answer sent first left zeros for end of file (test/e2e/shrunk-elsewhere).
//    Where libfuse leaves max_background at 0 (the kernel's 12 requests in
//    the background: readahead, asynchronous direct I/O), the INIT answer
//    sets 48, so fio at depth 32 reaches the server 32 deep.
//  - readdir also takes its answer packed in two Buffers (the names, each
//    ending in NUL, and 16 bytes per name: inode number and mode in native
//    byte order), filled in with one pass and no N-API call per entry:
//    libfuse2 reads only st_ino and the type from a readdir entry, and the
//    per-entry element, string and buffer calls made a cached listing five
//    times dearer per name than a names-only one. Arrays still work.
//  - create may answer a third value, the new file's stat: libfuse2 asks for
//    it (fgetattr of the new handle) in the same request right after create
//    returns, and the binding answers that from the stash instead of a
//    second call into JavaScript. Any other call drops the stash.
//  - open's flags gain bit 1, "nothing to flush" (a handle open for reading):
//    the channel then sets FOPEN_NOFLUSH (kernel 5.18) in that OPEN answer,
//    and close(2) of the file no longer waits for a FLUSH round trip through
//    JavaScript that could only answer at once.
//  - open's flags gain bit 2, "the kernel's attributes are stale" (the open
//    found the file changed on the server since the attributes the kernel
//    was last given): before that OPEN answer the channel writes a
//    FUSE_NOTIFY_INVAL_INODE for the node (offset -1: attributes only, no
//    pages), so the next stat or read past the old end asks for them again.
//    The kernel holds them for attr_timeout and asks nothing at open: a file
//    grown on the server read as its old size (test/e2e/shrunk-elsewhere).
//    The node id comes from the header of the request being run.
//  - a LINK answered with its new entry is preceded by the same invalidation
//    of the node linked (fuse_link_in.oldnodeid, patch 21): libfuse2 gives
//    each name its own node, so after `ln b h` the kernel kept b's link count
//    of 1 for attr_timeout while h showed 2.
//  - read may answer with the bytes themselves instead of copying them into
//    libfuse's buffer (the "smbfuse lent reads" block; src/read-lending.ts):
//    after the byte count come an array of Buffers holding the answer in
//    order and a slot number in a table of 32-bit words JavaScript registered
//    (smbfuse_lend_table). The channel writes those Buffers in place of
//    libfuse's buffer, then stores SENT (2) in the slot: until then
//    JavaScript keeps them as they are. Pieces that do not add up to the
//    count make the answer EIO; more pieces than the channel takes, or no
//    usable slot, are copied as before; a slot the channel is not handed is
//    marked SENT at once. On a cold sequential read that copy was a tenth of
//    the daemon's CPU.
//  - getattr may be answered by the binding without a call into
//    JavaScript (the "smbfuse primed lookups" block; src/attr-epoch.ts): a
//    readdir answer may carry, per name, the stat JavaScript's cached getattr
//    would answer and how many milliseconds it holds, with the value of an
//    epoch word JavaScript registered (smbfuse_prime_epoch) when it was made.
//    The binding keeps them by path while that word is unchanged (JavaScript
//    moves it whenever anything its cached answers come from changes) and
//    answers getattr from them. `ls -l` of a big directory sends one lookup
//    per name, each a hop to JavaScript and back (about 50 us of its 70 us).
//    smbfuse_primed_answers counts the answers given so.
//  - one thread (patch 20, scripts/fuse-native-one-thread.mjs and .c):
//    Node's main thread reads /dev/fuse (a libuv poll on the descriptor) and
//    runs each request through libfuse itself, in place of libfuse's own
//    threads, each of which woke the main thread for every call and was
//    woken again for its answer. A call JavaScript answers before returning
//    costs no thread switch; one it answers later ends libfuse's pass over
//    the request with an answer the channel drops, and the request goes
//    through libfuse again when JavaScript answers, each call already
//    answered getting its recorded answer. A release is never run twice:
//    its calls are not waited for. A rename to libfuse's hidden name is run
//    on one thread that waits for JavaScript, the main thread holding every
//    other request meanwhile. Requests are kept in per-request locals (what
//    JavaScript's interrupt and lent-read bookkeeping are keyed by); the
//    channel holds a short READ answer back instead of waiting, and
//    interrupts are matched to requests as they are read (libfuse never sees
//    them). dbench 4 clients: 38 MB/s against 27-28 with the threads.
// Each edit is anchored on 2.2.6's exact text, applied to the pristine
// source (kept as fuse-native.c.orig), so running this again — or after an
// older version of this patch — gives the same result. If the source is not
// 2.2.6, or nothing can compile it here, fuse-native stays as it is and
// smbfuse runs without these fixes (src/fuse-binding.ts notices).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { oneThreadEdits } from './fuse-native-one-thread.mjs';

const PATCH_VERSION = 21;
const MARK = `/* smbfuse-patch ${PATCH_VERSION} */\n`;

const require = createRequire(import.meta.url);
const log = (m) => process.stderr.write(`smbfuse postinstall: ${m}\n`);
const without = 'keeping the unpatched fuse-native (times to the millisecond, touch -m/-a alone and tar x mtimes do nothing, 32-bit inode numbers)';

let dir;
try {
  dir = path.dirname(require.resolve('fuse-native/package.json'));
} catch {
  log('fuse-native is not installed; nothing to patch');
  process.exit(0);
}
const src = path.join(dir, 'fuse-native.c');
const orig = `${src}.orig`;
const addon = path.join(dir, 'build', 'Release', 'fuse.node');

/** The version the built binary says it carries (0: none or unloadable). */
function builtVersion() {
  try {
    return existsSync(addon) ? Number(require(addon).smbfuse_patch ?? 0) : 0;
  } catch {
    return 0;
  }
}

/** [anchor in 2.2.6, replacement]; every anchor must occur (global ones any number of times ≥ 1). */
const edits = [
  // Times come from JavaScript as 64-bit seconds and nanoseconds.
  [
    'static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {\n  uint64_t ms = uint32s_to_uint64(ints);\n  ts->tv_sec = ms / 1000;\n  ts->tv_nsec = (ms % 1000) * 1000000;\n}',
    'static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {\n  ts->tv_sec = (time_t) (int64_t) uint32s_to_uint64(ints);\n  ts->tv_nsec = *((*ints)++);\n}',
  ],
  ['  stat->st_ino = *ints++;\n', '  stat->st_ino = uint32s_to_uint64(&ints);\n'],
  // A failed getattr comes back with fuse-native's default (2.2.6-sized) stat: not read.
  ['  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)\n  populate_stat(ints, l->stat);', '  NAPI_ARGV_BUFFER_CAST(uint32_t*, ints, 2)\n  if (res == 0) populate_stat(ints, l->stat);', 'all'],
  ['  // Stat + Statfs\n', '  // utimens (smbfuse)\n  struct timespec times[2];\n\n  // Stat + Statfs\n'],
  [
    '// Opcodes\n',
    [
      '#define FUSE_TIMESPEC_TO_ARGV(ts, pos)\\',
      '  uint64_t sec##pos = (uint64_t) (int64_t) (ts).tv_sec;\\',
      '  napi_create_uint32(env, (uint32_t) sec##pos, &(argv[pos]));\\',
      '  napi_create_uint32(env, (uint32_t) (sec##pos >> 32), &(argv[pos + 1]));\\',
      '  napi_create_uint32(env, (uint32_t) (ts).tv_nsec, &(argv[pos + 2]));',
      '',
      '// smbfuse: with flag_nullpath_ok an unlinked open file has no path (NULL); JavaScript gets "".',
      'static void smbfuse_path_value (napi_env env, const char *path, napi_value *out) {',
      '  napi_create_string_utf8(env, path ? path : "", NAPI_AUTO_LENGTH, out);',
      '}',
      '',
      '// smbfuse: open/create answer flags after the fd (argv[3]); bit 0 sets keep_cache.',
      '// Anything but a number is 0: this runs inside a signal function, which must not fail.',
      'static void smbfuse_open_flags (napi_env env, size_t argc, napi_value *argv, struct fuse_file_info *info) {',
      '  uint32_t flags = 0;',
      '  if (argc < 4 || info == NULL || napi_get_value_uint32(env, argv[3], &flags) != napi_ok) return;',
      '  if (flags & 1) info->keep_cache = 1;',
      '}',
      '',
      `static uint32_t smbfuse_patch = ${PATCH_VERSION};`,
      '',
      '// Opcodes',
      '',
    ].join('\n'),
  ],
  [
    'FUSE_METHOD_VOID(utimens, 5, 0, (const char *path, const struct timespec tv[2]), {\n  l->path = path;\n  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)\n})',
    'FUSE_METHOD_VOID(utimens, 7, 0, (const char *path, const struct timespec tv[2]), {\n  l->path = path;\n  l->times[0] = tv[0];\n  l->times[1] = tv[1];\n}, {\n  smbfuse_path_value(env, l->path, &(argv[2]));\n  FUSE_TIMESPEC_TO_ARGV(l->times[0], 3)\n  FUSE_TIMESPEC_TO_ARGV(l->times[1], 6)\n})',
  ],
  ['napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));', 'smbfuse_path_value(env, l->path, &(argv[2]));', 'all'],
  [
    '  if (implemented[op_init]) ops.init = fuse_native_init;\n',
    '  if (implemented[op_init]) ops.init = fuse_native_init;\n  ops.flag_nullpath_ok = 1;\n  ops.flag_utime_omit_ok = 1;\n',
  ],
  // open/create: fd, then open flags (bit 0: keep_cache).
  [
    'FUSE_METHOD(open, 2, 1, (const char *path, struct fuse_file_info *info), {',
    'FUSE_METHOD(open, 2, 2, (const char *path, struct fuse_file_info *info), {',
  ],
  [
    'FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {',
    'FUSE_METHOD(create, 2, 2, (const char *path, mode_t mode, struct fuse_file_info *info), {',
  ],
  [
    '}, {\n  NAPI_ARGV_INT32(fd, 2)\n  if (fd != 0) {\n    l->info->fh = fd;\n  }\n})\n\nFUSE_METHOD(opendir,',
    '}, {\n  NAPI_ARGV_INT32(fd, 2)\n  if (fd != 0) {\n    l->info->fh = fd;\n  }\n  smbfuse_open_flags(env, argc, argv, l->info);\n})\n\nFUSE_METHOD(opendir,',
  ],
  [
    '}, {\n  NAPI_ARGV_INT32(fd, 2)\n  if (fd != 0) {\n    l->info->fh = fd;\n  }\n})\n\nFUSE_METHOD_VOID(utimens,',
    '}, {\n  NAPI_ARGV_INT32(fd, 2)\n  if (fd != 0) {\n    l->info->fh = fd;\n  }\n  smbfuse_open_flags(env, argc, argv, l->info);\n})\n\nFUSE_METHOD_VOID(utimens,',
  ],
  ['  NAPI_EXPORT_SIZEOF(fuse_thread_t)\n', '  NAPI_EXPORT_SIZEOF(fuse_thread_t)\n  NAPI_EXPORT_UINT32(smbfuse_patch)\n'],
  // --- smbfuse interrupt (FUSE INTERRUPT → JavaScript), one block of edits ---
  // (Patch 20 replaces the signal below: the binding reads each INTERRUPT
  // itself and marks the request it names; the rest stands.)
  // With `-o intr,intr_signal=12` libfuse signals (SIGUSR2) the thread whose
  // request the kernel interrupted, every second until it is answered. That
  // thread waits in uv_sem_wait for JavaScript (which retries on EINTR); our
  // handler notes the interrupt in the thread's locals and wakes the main
  // loop, which calls JavaScript; JavaScript asks `smbfuse_interrupted(l)`
  // of each thread's locals whether it waits for an interrupted request and
  // answers that request itself (EINTR; answering twice is harmless, and a
  // signal that came before JavaScript saw the request is repeated by libfuse
  // a second later). SIGUSR1, libfuse's default, is Node's: it would start
  // the inspector.
  [
    '  uv_async_t async;\n  uv_mutex_t mut;\n  uv_sem_t sem;\n} fuse_thread_t;\n',
    '  uv_async_t async;\n  uv_mutex_t mut;\n  uv_sem_t sem;\n\n  // smbfuse interrupt: wakes the main loop; the JavaScript to call\n  uv_async_t smbfuse_intr_async;\n  napi_ref smbfuse_intr_cb;\n} fuse_thread_t;\n',
  ],
  [
    '  // Internal bookkeeping\n  fuse_thread_t *fuse;\n  uv_sem_t sem;\n  uv_async_t async;\n',
    '  // Internal bookkeeping\n  fuse_thread_t *fuse;\n  uv_sem_t sem;\n  uv_async_t async;\n\n  // smbfuse interrupt: the request this thread waits for (numbered) and the one interrupted\n  uint32_t smbfuse_seq;\n  uint32_t smbfuse_waiting;\n  uint32_t smbfuse_intr_seq;\n',
  ],
  [
    '  blk\\\n  uv_async_send(&(l->async));\\\n  uv_sem_wait(&(l->sem));\\\n  return l->res;\n',
    '  blk\\\n  __atomic_store_n(&(l->smbfuse_seq), l->smbfuse_seq + 1, __ATOMIC_SEQ_CST);\\\n  __atomic_store_n(&(l->smbfuse_waiting), 1, __ATOMIC_SEQ_CST);\\\n  uv_async_send(&(l->async));\\\n  uv_sem_wait(&(l->sem));\\\n  __atomic_store_n(&(l->smbfuse_waiting), 0, __ATOMIC_SEQ_CST);\\\n  return l->res;\n',
  ],
  [
    'static void* start_fuse_thread (void *data) {\n',
    [
      '// smbfuse interrupt: runs on the libfuse thread libfuse signals (SIGUSR2).',
      'static void smbfuse_intr_handler (int sig) {',
      '  (void) sig;',
      '  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);',
      '  if (l == NULL || !__atomic_load_n(&(l->smbfuse_waiting), __ATOMIC_SEQ_CST)) return;',
      '  __atomic_store_n(&(l->smbfuse_intr_seq), __atomic_load_n(&(l->smbfuse_seq), __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);',
      '  uv_async_send(&(l->fuse->smbfuse_intr_async)); // async-signal-safe',
      '}',
      '',
      'static void smbfuse_intr_dispatch (uv_async_t *handle) {',
      '  fuse_thread_t *ft = (fuse_thread_t *) handle->data;',
      '  if (ft->smbfuse_intr_cb == NULL) return;',
      '  FUSE_NATIVE_CALLBACK(ft->smbfuse_intr_cb, {',
      '    NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, 0, NULL, NULL)',
      '  })',
      '}',
      '',
      '// Whether the thread of these locals waits for a request the kernel interrupted.',
      'NAPI_METHOD(smbfuse_interrupted) {',
      '  NAPI_ARGV(1)',
      '  NAPI_ARGV_BUFFER_CAST(fuse_thread_locals_t *, l, 0);',
      '  uint32_t seq = __atomic_load_n(&(l->smbfuse_seq), __ATOMIC_SEQ_CST);',
      '  uint32_t interrupted = __atomic_load_n(&(l->smbfuse_waiting), __ATOMIC_SEQ_CST) && seq != 0 &&',
      '    __atomic_load_n(&(l->smbfuse_intr_seq), __ATOMIC_SEQ_CST) == seq;',
      '  NAPI_RETURN_UINT32(interrupted)',
      '}',
      '',
      '// The JavaScript function called when some request was interrupted (after mounting).',
      'NAPI_METHOD(smbfuse_on_interrupt) {',
      '  NAPI_ARGV(2)',
      '  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0);',
      '  if (ft->smbfuse_intr_cb != NULL) napi_delete_reference(env, ft->smbfuse_intr_cb);',
      '  napi_create_reference(env, argv[1], 1, &(ft->smbfuse_intr_cb));',
      '  return NULL;',
      '}',
      '',
      'static void* start_fuse_thread (void *data) {',
      '',
    ].join('\n'),
  ],
  [
    '  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);\n',
    [
      '  // smbfuse interrupt: our handler for intr_signal=12 (installed first, libfuse keeps it).',
      '  struct sigaction smbfuse_sa;',
      '  memset(&smbfuse_sa, 0, sizeof(smbfuse_sa));',
      '  smbfuse_sa.sa_handler = smbfuse_intr_handler;',
      '  sigemptyset(&smbfuse_sa.sa_mask);',
      '  smbfuse_sa.sa_flags = SA_RESTART;',
      '  sigaction(SIGUSR2, &smbfuse_sa, NULL);',
      '  ft->smbfuse_intr_async.data = ft;',
      '  uv_async_init(uv_default_loop(), &(ft->smbfuse_intr_async), (uv_async_cb) smbfuse_intr_dispatch);',
      '  uv_unref((uv_handle_t *) &(ft->smbfuse_intr_async));',
      '',
      '  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);',
      '',
    ].join('\n'),
  ],
  ['  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n', '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n  NAPI_EXPORT_FUNCTION(smbfuse_interrupted)\n  NAPI_EXPORT_FUNCTION(smbfuse_on_interrupt)\n'],
  // --- end of smbfuse interrupt ---
  // getxattr outside user.* never reaches JavaScript (Linux: 4 arguments; macOS keeps 2.2.6's).
  [
    'static void* start_fuse_thread (void *data) {\n',
    [
      '#include <errno.h>',
      '#ifdef __APPLE__',
      '#define smbfuse_getxattr fuse_native_getxattr',
      '#else',
      'static int smbfuse_getxattr (const char *path, const char *name, char *value, size_t size) {',
      '  if (strncmp(name, "user.", 5) != 0) return -EOPNOTSUPP;',
      '  return fuse_native_getxattr(path, name, value, size);',
      '}',
      '#endif',
      '',
      'static void* start_fuse_thread (void *data) {',
      '',
    ].join('\n'),
  ],
  ['  if (implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;\n', '  if (implemented[op_getxattr]) ops.getxattr = smbfuse_getxattr;\n'],
  // --- smbfuse: thread locals kept for the next thread (see the top) ---
  ['  napi_ref smbfuse_intr_cb;\n} fuse_thread_t;\n', '  napi_ref smbfuse_intr_cb;\n\n  // smbfuse: locals of ended threads, for the next ones (a list through smbfuse_next; under mut)\n  void *smbfuse_free;\n} fuse_thread_t;\n'],
  ['  uint32_t smbfuse_intr_seq;\n', '  uint32_t smbfuse_intr_seq;\n\n  // smbfuse: next in fuse_thread_t.smbfuse_free\n  void *smbfuse_next;\n'],
  [
    '  // Need to lock the mutation of l->async.\n  uv_mutex_lock(&(ft->mut));\n',
    [
      '  // Need to lock the mutation of l->async.',
      '  uv_mutex_lock(&(ft->mut));',
      '',
      '  // smbfuse: the locals an ended thread left, handle and all, if there are any.',
      '  if (ft->smbfuse_free != NULL) {',
      '    fuse_thread_locals_t *kept = (fuse_thread_locals_t *) ft->smbfuse_free;',
      '    ft->smbfuse_free = kept->smbfuse_next;',
      '    kept->smbfuse_next = NULL;',
      '    pthread_setspecific(thread_locals_key, (void *) kept);',
      '    uv_mutex_unlock(&(ft->mut));',
      '    return kept;',
      '  }',
      '',
    ].join('\n'),
  ],
  [
    'static void* start_fuse_thread (void *data) {\n',
    [
      '// smbfuse: a libfuse thread ends (pthread key destructor): keep its locals for the next one.',
      '// Set only after get_thread_locals let go of the mutex, so never called while this thread holds it.',
      'static void smbfuse_keep_locals (void *data) {',
      '  fuse_thread_locals_t *l = (fuse_thread_locals_t *) data;',
      '  fuse_thread_t *ft = l->fuse;',
      '  uv_mutex_lock(&(ft->mut));',
      '  l->smbfuse_next = ft->smbfuse_free;',
      '  ft->smbfuse_free = l;',
      '  uv_mutex_unlock(&(ft->mut));',
      '}',
      '',
      'static void* start_fuse_thread (void *data) {',
      '',
    ].join('\n'),
  ],
  ['  pthread_key_create(&(thread_locals_key), NULL); // TODO: add destructor\n', '  pthread_key_create(&(thread_locals_key), smbfuse_keep_locals);\n'],
  // --- end of thread locals ---
  // --- smbfuse big requests (see the top) ---
  [
    'NAPI_METHOD(fuse_native_mount) {\n',
    [
      '#include <fuse_lowlevel.h>',
      '#include <errno.h>',
      '#include <stdint.h>',
      '#include <unistd.h>',
      '#include <sys/uio.h>',
      '#include <pthread.h>',
      '#include <time.h>',
      '',
      '#define SMBFUSE_MAX_PAGES 256',
      '// Requests the kernel keeps in flight in the background (readahead, asynchronous',
      '// direct I/O) when libfuse leaves it to the kernel (12), and where it starts to',
      '// hold readahead back: a queue depth of 32 reaches us whole.',
      '#define SMBFUSE_MAX_BACKGROUND 48',
      '#define SMBFUSE_CONGESTION 36',
      '// From the kernel\'s FUSE protocol (linux/fuse.h): opcode, flag, and offsets in',
      '// fuse_in_header (40 bytes), fuse_init_in and fuse_init_out.',
      '#define SMBFUSE_OP_INIT 26',
      '#define SMBFUSE_OP_READ 15',
      '#define SMBFUSE_READ_IN_OFFSET 8',
      '#define SMBFUSE_READ_IN_SIZE 16',
      '#define SMBFUSE_FLAG_ASYNC_DIO (1u << 15)',
      '#define SMBFUSE_FLAG_MAX_PAGES (1u << 22)',
      '#define SMBFUSE_IN_HEADER 40',
      '#define SMBFUSE_INIT_IN_FLAGS 12',
      '#define SMBFUSE_INIT_OUT_FLAGS 12',
      '#define SMBFUSE_INIT_OUT_MAX_BACKGROUND 16',
      '#define SMBFUSE_INIT_OUT_CONGESTION 18',
      '#define SMBFUSE_INIT_OUT_MAX_WRITE 20',
      '#define SMBFUSE_INIT_OUT_MAX_PAGES 28',
      '#define SMBFUSE_INIT_OUT_MIN 32',
      '#define SMBFUSE_INIT_OUT_MAX 64',
      '',
      '// READs not answered yet, so that a short answer can be held for those below it.',
      '#define SMBFUSE_READS 256',
      'typedef struct {',
      '  uint64_t unique;  // 0: free',
      '  uint64_t nodeid;',
      '  uint64_t offset;',
      '  uint32_t size;',
      '} smbfuse_read_t;',
      '',
      '// What the channel learnt from the INIT request, for libfuse\'s answer to it,',
      '// and the READs in flight.',
      'typedef struct {',
      '  uint64_t init_unique;  // the INIT request\'s id until it is answered, else 0',
      '  uint32_t kernel_flags;  // what the kernel offered in INIT',
      '  pthread_mutex_t lock;',
      '  pthread_cond_t answered;  // a READ left the table',
      '  smbfuse_read_t reads[SMBFUSE_READS];',
      '} smbfuse_chan_state_t;',
      '',
      '// Notes a READ request (untracked when the table is full: its answer then waits for nothing).',
      'static void smbfuse_read_begins (smbfuse_chan_state_t *st, const char *buf, size_t n) {',
      '  if (n < SMBFUSE_IN_HEADER + SMBFUSE_READ_IN_SIZE + 4) return;',
      '  smbfuse_read_t r;',
      '  memcpy(&r.unique, buf + 8, 8);',
      '  memcpy(&r.nodeid, buf + 16, 8);',
      '  memcpy(&r.offset, buf + SMBFUSE_IN_HEADER + SMBFUSE_READ_IN_OFFSET, 8);',
      '  memcpy(&r.size, buf + SMBFUSE_IN_HEADER + SMBFUSE_READ_IN_SIZE, 4);',
      '  if (r.unique == 0) return;',
      '  pthread_mutex_lock(&st->lock);',
      '  for (int i = 0; i < SMBFUSE_READS; i++) {',
      '    if (st->reads[i].unique == 0) {',
      '      st->reads[i] = r;',
      '      break;',
      '    }',
      '  }',
      '  pthread_mutex_unlock(&st->lock);',
      '}',
      '',
      '// Whether a READ of the same node below `offset` is still unanswered (lock held).',
      'static int smbfuse_read_below (smbfuse_chan_state_t *st, uint64_t nodeid, uint64_t offset) {',
      '  for (int i = 0; i < SMBFUSE_READS; i++) {',
      '    smbfuse_read_t *r = &st->reads[i];',
      '    if (r->unique != 0 && r->nodeid == nodeid && r->offset < offset) return 1;',
      '  }',
      '  return 0;',
      '}',
      '',
      '// The READ request `unique`, or NULL (lock held).',
      'static smbfuse_read_t *smbfuse_read_find (smbfuse_chan_state_t *st, uint64_t unique) {',
      '  for (int i = 0; i < SMBFUSE_READS; i++) {',
      '    if (st->reads[i].unique == unique) return &st->reads[i];',
      '  }',
      '  return NULL;',
      '}',
      '',
      '// smbfuse one thread: answers not written now, or not here (see fuse-native-one-thread.c).',
      'static int smbfuse_hold_answer (smbfuse_chan_state_t *st, uint64_t unique, int32_t error, size_t data);',
      'static void smbfuse_release_held (void);',
      'static int smbfuse_send_aside (const struct iovec *iov, size_t count, uint32_t slot, size_t data);',
      '',
      '// After the answer to request `unique` was written (or failed): a READ leaves the table.',
      'static void smbfuse_read_sent (smbfuse_chan_state_t *st, uint64_t unique) {',
      '  pthread_mutex_lock(&st->lock);',
      '  smbfuse_read_t *mine = smbfuse_read_find(st, unique);',
      '  if (mine != NULL) {',
      '    mine->unique = 0;',
      '    pthread_cond_broadcast(&st->answered);',
      '  }',
      '  pthread_mutex_unlock(&st->lock);',
      '}',
      '',
      '// The node of the request this thread read last (libfuse2 answers it on the same thread).',
      'static __thread uint64_t smbfuse_request_nodeid;',
      '// ... and, when it is a LINK, the node it links (fuse_link_in.oldnodeid), else 0.',
      'static __thread uint64_t smbfuse_request_link_old;',
      '',
      '// Sends one answer; libfuse\'s answer to INIT gains FUSE_MAX_PAGES and FUSE_ASYNC_DIO when the kernel',
      '// offered them, and a background limit when libfuse set none.',
      'static int smbfuse_chan_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {',
      '  if (!iov) return 0;',
      '  smbfuse_chan_state_t *st = (smbfuse_chan_state_t *) fuse_chan_data(ch);',
      '  struct iovec init_iov[2];',
      '  char head[16];',
      '  char init_out[SMBFUSE_INIT_OUT_MAX];',
      '  if (st->init_unique != 0 && count == 2 && iov[0].iov_len == 16 && iov[1].iov_len <= SMBFUSE_INIT_OUT_MAX) {',
      '    uint64_t unique;',
      '    int32_t error;',
      '    memcpy(&unique, (char *) iov[0].iov_base + 8, 8);',
      '    memcpy(&error, (char *) iov[0].iov_base + 4, 4);',
      '    if (unique == st->init_unique) {',
      '      st->init_unique = 0;',
      '      uint32_t max_write = 0;',
      '      if (iov[1].iov_len >= SMBFUSE_INIT_OUT_MAX_WRITE + 4) memcpy(&max_write, (char *) iov[1].iov_base + SMBFUSE_INIT_OUT_MAX_WRITE, 4);',
      '      uint32_t page = (uint32_t) getpagesize();',
      '      uint32_t pages = (max_write + page - 1) / page;',
      '      if (pages > SMBFUSE_MAX_PAGES) pages = SMBFUSE_MAX_PAGES;',
      '      uint32_t add = st->kernel_flags & SMBFUSE_FLAG_ASYNC_DIO;',
      '      if ((st->kernel_flags & SMBFUSE_FLAG_MAX_PAGES) && pages > 32) add |= SMBFUSE_FLAG_MAX_PAGES;',
      '      uint16_t background = 0;',
      '      if (iov[1].iov_len >= SMBFUSE_INIT_OUT_CONGESTION + 2) memcpy(&background, (char *) iov[1].iov_base + SMBFUSE_INIT_OUT_MAX_BACKGROUND, 2);',
      '      if (error == 0 && (add != 0 || background == 0)) {',
      '        // An older libfuse answers with a shorter struct: the kernel takes any length up to its own.',
      '        size_t len = iov[1].iov_len < SMBFUSE_INIT_OUT_MIN ? SMBFUSE_INIT_OUT_MIN : iov[1].iov_len;',
      '        memset(init_out, 0, sizeof(init_out));',
      '        memcpy(init_out, iov[1].iov_base, iov[1].iov_len);',
      '        uint32_t flags;',
      '        memcpy(&flags, init_out + SMBFUSE_INIT_OUT_FLAGS, 4);',
      '        flags |= add;',
      '        memcpy(init_out + SMBFUSE_INIT_OUT_FLAGS, &flags, 4);',
      '        if (background == 0) {',
      '          uint16_t max_background = SMBFUSE_MAX_BACKGROUND, congestion = SMBFUSE_CONGESTION;',
      '          memcpy(init_out + SMBFUSE_INIT_OUT_MAX_BACKGROUND, &max_background, 2);',
      '          memcpy(init_out + SMBFUSE_INIT_OUT_CONGESTION, &congestion, 2);',
      '        }',
      '        if (add & SMBFUSE_FLAG_MAX_PAGES) {',
      '          uint16_t pages16 = (uint16_t) pages;',
      '          memcpy(init_out + SMBFUSE_INIT_OUT_MAX_PAGES, &pages16, 2);',
      '        }',
      '        memcpy(head, iov[0].iov_base, 16);',
      '        uint32_t total = (uint32_t) (16 + len);',
      '        memcpy(head, &total, 4);',
      '        init_iov[0].iov_base = head;',
      '        init_iov[0].iov_len = 16;',
      '        init_iov[1].iov_base = init_out;',
      '        init_iov[1].iov_len = len;',
      '        iov = init_iov;',
      '      }',
      '    }',
      '  }',
      '  uint64_t unique = 0;',
      '  if (count >= 1 && iov[0].iov_len >= 16) memcpy(&unique, (char *) iov[0].iov_base + 8, 8);',
      '  ssize_t n = writev(fuse_chan_fd(ch), iov, count);',
      '  if (unique != 0) smbfuse_read_sent(st, unique);',
      '  smbfuse_release_held();',
      '  if (n < 0) {',
      '    int err = errno;',
      '    // ENOENT: the request was interrupted and is gone; not worth a message.',
      '    if (!fuse_session_exited(fuse_chan_session(ch)) && err != ENOENT) perror("smbfuse: write to /dev/fuse");',
      '    return -err;',
      '  }',
      '  return 0;',
      '}',
      '',
      'static void smbfuse_chan_destroy (struct fuse_chan *ch) {',
      '  int fd = fuse_chan_fd(ch);',
      '  if (fd != -1) close(fd);',
      '  smbfuse_chan_state_t *st = (smbfuse_chan_state_t *) fuse_chan_data(ch);',
      '  pthread_mutex_destroy(&st->lock);',
      '  pthread_cond_destroy(&st->answered);',
      '  free(st);',
      '}',
      '',
      '// Our channel on the descriptor of libfuse\'s, or libfuse\'s own if ours cannot be made.',
      '// libfuse\'s channel is left as it is, unused: destroying it would close the descriptor.',
      'static struct fuse_chan *smbfuse_big_chan (struct fuse_chan *ch) {',
      '  static struct fuse_chan_ops ops = {',
      '    .send = smbfuse_chan_send,',
      '    .destroy = smbfuse_chan_destroy,',
      '  };',
      '  smbfuse_chan_state_t *st = calloc(1, sizeof(smbfuse_chan_state_t));',
      '  if (st == NULL) return ch;',
      '  pthread_mutex_init(&st->lock, NULL);',
      '  pthread_cond_init(&st->answered, NULL);',
      '  // Room for a WRITE of SMBFUSE_MAX_PAGES pages and its headers (libfuse keeps 4 KiB for those).',
      '  size_t size = (size_t) SMBFUSE_MAX_PAGES * getpagesize() + 0x1000;',
      '  struct fuse_chan *big = fuse_chan_new(&ops, fuse_chan_fd(ch), size, st);',
      '  if (big == NULL) {',
      '    pthread_mutex_destroy(&st->lock);',
      '    pthread_cond_destroy(&st->answered);',
      '    free(st);',
      '    return ch;',
      '  }',
      '  return big;',
      '}',
      '',
      'NAPI_METHOD(fuse_native_mount) {',
      '',
    ].join('\n'),
  ],
  [
    '  struct fuse_chan *ch = fuse_mount(mnt, &args);\n\n  if (ch == NULL) {\n    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n',
    '  struct fuse_chan *ch = fuse_mount(mnt, &args);\n\n  if (ch == NULL) {\n    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n  ch = smbfuse_big_chan(ch);\n',
  ],
  // --- end of big requests ---
  // A readdir answer packed in two Buffers (src/fuse-binding.ts packDirents).
  [
    'FUSE_METHOD(readdir, 1, 2,',
    [
      '// smbfuse: a readdir answer packed by src/fuse-binding.ts: `names` holds each name',
      '// followed by NUL, `meta` 16 bytes per name: the inode number (uint64) and the mode',
      '// (uint32), in this machine\'s byte order.',
      'static void smbfuse_fill_packed (napi_env env, fuse_thread_locals_t *l, napi_value names, napi_value meta) {',
      '  char *p = NULL;',
      '  size_t plen = 0;',
      '  char *m = NULL;',
      '  size_t mlen = 0;',
      '  if (napi_get_buffer_info(env, names, (void **) &p, &plen) != napi_ok) return;',
      '  if (napi_get_buffer_info(env, meta, (void **) &m, &mlen) != napi_ok) return;',
      '  char *end = p + plen;',
      '  for (size_t i = 0; (i + 1) * 16 <= mlen && p < end; i++) {',
      '    char *nul = memchr(p, 0, end - p);',
      '    if (nul == NULL) break;',
      '    uint64_t ino;',
      '    uint32_t mode;',
      '    memcpy(&ino, m + 16 * i, 8);',
      '    memcpy(&mode, m + 16 * i + 8, 4);',
      '    struct stat st;',
      '    memset(&st, 0, sizeof(st));',
      '    st.st_ino = ino;',
      '    st.st_mode = mode;',
      '    if (l->readdir_filler((char *) l->buf, p, &st, 0) == 1) break;',
      '    p = nul + 1;',
      '  }',
      '}',
      '',
      'FUSE_METHOD(readdir, 1, 2,',
    ].join('\n'),
  ],
  [
    '  uint32_t stats_length;\n  uint32_t names_length;\n  napi_get_array_length(env, argv[3], &stats_length);\n  napi_get_array_length(env, argv[2], &names_length);\n',
    '  bool smbfuse_packed = false;\n  napi_is_buffer(env, argv[2], &smbfuse_packed);\n  if (smbfuse_packed) {\n    smbfuse_fill_packed(env, l, argv[2], argv[3]);\n    goto smbfuse_filled;\n  }\n  uint32_t stats_length;\n  uint32_t names_length;\n  napi_get_array_length(env, argv[3], &stats_length);\n  napi_get_array_length(env, argv[2], &names_length);\n',
  ],
  ['    }\n  }\n})\n\n#ifdef __APPLE__', '    }\n  }\n  smbfuse_filled: ;\n})\n\n#ifdef __APPLE__'],
  // create's answer carries the new file's stat for the fgetattr libfuse sends next.
  [
    '  // smbfuse: next in fuse_thread_t.smbfuse_free\n  void *smbfuse_next;\n',
    '  // smbfuse: next in fuse_thread_t.smbfuse_free\n  void *smbfuse_next;\n\n  // smbfuse: the stat create answered, for the fgetattr of that handle libfuse sends next\n  struct stat smbfuse_created;\n  uint64_t smbfuse_created_fh;\n  int smbfuse_created_ok;\n  // smbfuse: the OPEN answer this thread sends next gets FOPEN_NOFLUSH\n  int smbfuse_noflush;\n  // smbfuse: ... and is preceded by an attribute invalidation of its node\n  int smbfuse_inval_attr;\n',
  ],
  [
    '  l->op_fn = fuse_native_dispatch_##name;\\\n  blk\\\n',
    '  l->op_fn = fuse_native_dispatch_##name;\\\n  if (l->op != op_fgetattr) l->smbfuse_created_ok = 0;\\\n  l->smbfuse_noflush = 0;\\\n  l->smbfuse_inval_attr = 0;\\\n  blk\\\n',
  ],
  [
    'FUSE_METHOD(create, 2, 2,',
    [
      '// smbfuse: a successful create\'s optional fifth value, the new file\'s stat',
      '// (22 uint32s), kept for the fgetattr of the same handle that follows.',
      'static void smbfuse_note_created (napi_env env, int res, size_t argc, napi_value *argv, fuse_thread_locals_t *l) {',
      '  l->smbfuse_created_ok = 0;',
      '  if (res != 0 || argc < 5 || l->info == NULL) return;',
      '  bool is_typed = false;',
      '  if (napi_is_typedarray(env, argv[4], &is_typed) != napi_ok || !is_typed) return;',
      '  napi_typedarray_type type;',
      '  size_t length = 0;',
      '  void *data = NULL;',
      '  if (napi_get_typedarray_info(env, argv[4], &type, &length, &data, NULL, NULL) != napi_ok) return;',
      '  if (type != napi_uint32_array || length < 22 || data == NULL) return;',
      '  memset(&(l->smbfuse_created), 0, sizeof(struct stat));',
      '  populate_stat((uint32_t *) data, &(l->smbfuse_created));',
      '  l->smbfuse_created_fh = l->info->fh;',
      '  l->smbfuse_created_ok = 1;',
      '}',
      '',
      'FUSE_METHOD(create, 2, 3,',
    ].join('\n'),
  ],
  // open's flags bit 1: the channel sets FOPEN_NOFLUSH in the OPEN answer that follows.
  [
    '  smbfuse_open_flags(env, argc, argv, l->info);\n})\n\nFUSE_METHOD(opendir,',
    '  smbfuse_open_flags(env, argc, argv, l->info);\n  uint32_t smbfuse_flags = 0;\n  if (res == 0 && argc >= 4 && napi_get_value_uint32(env, argv[3], &smbfuse_flags) == napi_ok && (smbfuse_flags & 2)) l->smbfuse_noflush = 1;\n  if (res == 0 && (smbfuse_flags & 4)) l->smbfuse_inval_attr = 1;\n})\n\nFUSE_METHOD(opendir,',
  ],
  [
    '  uint64_t unique = 0;\n  if (count >= 1 && iov[0].iov_len >= 16) memcpy(',
    [
      '  // A LINK answered with its entry: the name linked keeps its own kernel inode',
      '  // (libfuse2 gives each name a node), whose attributes, link count included,',
      '  // the kernel would keep for attr_timeout. They are stale now: say so first.',
      '  if (smbfuse_request_link_old != 0 && count == 2 && iov[0].iov_len == 16) {',
      '    int32_t error;',
      '    memcpy(&error, (char *) iov[0].iov_base + 4, 4);',
      '    if (error == 0) smbfuse_notify_inval_attr(fuse_chan_fd(ch), smbfuse_request_link_old);',
      '    smbfuse_request_link_old = 0;',
      '  }',
      '  // An OPEN answer (16-byte fuse_open_out) this thread was told needs no FLUSH,',
      '  // or to go after an invalidation of the node\'s attributes.',
      '  struct iovec open_iov[2];',
      '  char open_out[16];',
      '  if (count == 2 && iov[0].iov_len == 16 && iov[1].iov_len == 16) {',
      '    fuse_thread_locals_t *tl = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);',
      '    int32_t error;',
      '    memcpy(&error, (char *) iov[0].iov_base + 4, 4);',
      '    if (tl != NULL && tl->smbfuse_inval_attr) {',
      '      tl->smbfuse_inval_attr = 0;',
      '      if (error == 0) smbfuse_notify_inval_attr(fuse_chan_fd(ch), smbfuse_request_nodeid);',
      '    }',
      '    if (tl != NULL && tl->smbfuse_noflush) {',
      '      tl->smbfuse_noflush = 0;',
      '      if (error == 0) {',
      '        uint32_t open_flags;',
      '        memcpy(open_out, iov[1].iov_base, 16);',
      '        memcpy(&open_flags, open_out + 8, 4);',
      '        open_flags |= SMBFUSE_FOPEN_NOFLUSH;',
      '        memcpy(open_out + 8, &open_flags, 4);',
      '        open_iov[0] = iov[0];',
      '        open_iov[1].iov_base = open_out;',
      '        open_iov[1].iov_len = 16;',
      '        iov = open_iov;',
      '      }',
      '    }',
      '  }',
      '  uint64_t unique = 0;',
      '  if (count >= 1 && iov[0].iov_len >= 16) memcpy(',
    ].join('\n'),
  ],
  [
    "// Sends one answer; libfuse's",
    [
      '// fuse_open_out.open_flags: the kernel sends no FLUSH at close (linux/fuse.h, 7.35)',
      '#define SMBFUSE_FOPEN_NOFLUSH (1 << 5)',
      '// fuse_notify_code (linux/fuse.h, 7.12)',
      '#define SMBFUSE_NOTIFY_INVAL_INODE 2',
      '',
      '// Tells the kernel the attributes it holds of `nodeid` are stale (offset -1: no',
      '// pages are dropped, so no page lock is taken while a request of ours is open).',
      '// A node the kernel no longer knows (ENOENT) has nothing to drop.',
      'static void smbfuse_notify_inval_attr (int fd, uint64_t nodeid) {',
      '  if (nodeid == 0) return;',
      '  char msg[16 + 24];',
      '  uint32_t len = sizeof(msg);',
      '  int32_t code = SMBFUSE_NOTIFY_INVAL_INODE;',
      '  uint64_t unique = 0;',
      '  int64_t off = -1, range = 0;',
      '  memcpy(msg, &len, 4);',
      '  memcpy(msg + 4, &code, 4);',
      '  memcpy(msg + 8, &unique, 8);',
      '  memcpy(msg + 16, &nodeid, 8);',
      '  memcpy(msg + 24, &off, 8);',
      '  memcpy(msg + 32, &range, 8);',
      '  ssize_t n = write(fd, msg, sizeof(msg));',
      '  (void) n;',
      '}',
      '',
      "// Sends one answer; libfuse's",
    ].join('\n'),
  ],
  [
    '  smbfuse_open_flags(env, argc, argv, l->info);\n})\n\nFUSE_METHOD_VOID(utimens,',
    '  smbfuse_open_flags(env, argc, argv, l->info);\n  smbfuse_note_created(env, res, argc, argv, l);\n})\n\nFUSE_METHOD_VOID(utimens,',
  ],
  [
    'FUSE_METHOD(fgetattr, 2, 1, (const char *path, struct stat *stat, struct fuse_file_info *info), {\n',
    'FUSE_METHOD(fgetattr, 2, 1, (const char *path, struct stat *stat, struct fuse_file_info *info), {\n  if (l->smbfuse_created_ok && info != NULL && info->fh == l->smbfuse_created_fh) {\n    l->smbfuse_created_ok = 0;\n    *stat = l->smbfuse_created;\n    return 0;\n  }\n',
  ],
  // --- smbfuse lent reads (see the top) ---
  ['static const uint32_t op_init = 0;\n', '// smbfuse lent reads: pieces of one READ answer the channel takes\n#define SMBFUSE_LENT_PIECES 8\n\nstatic const uint32_t op_init = 0;\n'],
  [
    '  // smbfuse: ... and is preceded by an attribute invalidation of its node\n  int smbfuse_inval_attr;\n',
    '  // smbfuse: ... and is preceded by an attribute invalidation of its node\n  int smbfuse_inval_attr;\n  // smbfuse lent reads: the bytes of the READ answer this thread sends next, and their slot + 1 (0: none)\n  struct iovec smbfuse_lent[SMBFUSE_LENT_PIECES];\n  uint32_t smbfuse_lent_count;\n  uint32_t smbfuse_lent_slot;\n',
  ],
  [
    'FUSE_METHOD(read, 6, 2,',
    [
      '#include <errno.h>',
      '#include <sys/uio.h>',
      '',
      '// smbfuse lent reads: the table JavaScript registered, one word per slot (it keeps it alive).',
      '#define SMBFUSE_SLOT_SENT 2',
      'static int32_t *smbfuse_lent_words = NULL;',
      'static uint32_t smbfuse_lent_slots = 0;',
      '',
      'NAPI_METHOD(smbfuse_lend_table) {',
      '  NAPI_ARGV(1)',
      '  char *p = NULL;',
      '  size_t len = 0;',
      '  if (napi_get_buffer_info(env, argv[0], (void **) &p, &len) != napi_ok || ((uintptr_t) p) % 4 != 0) return NULL;',
      '  smbfuse_lent_slots = 0;',
      '  smbfuse_lent_words = (int32_t *) p;',
      '  smbfuse_lent_slots = (uint32_t) (len / 4);',
      '  return NULL;',
      '}',
      '',
      '// The answer of slot + 1 `slot1` is written (or was never handed over): JavaScript may reuse its bytes.',
      'static void smbfuse_lent_sent (uint32_t slot1) {',
      '  if (slot1 == 0 || slot1 > smbfuse_lent_slots || smbfuse_lent_words == NULL) return;',
      '  __atomic_store_n(&smbfuse_lent_words[slot1 - 1], SMBFUSE_SLOT_SENT, __ATOMIC_SEQ_CST);',
      '}',
      '',
      '// One piece of a lent answer (argv[4][i]): its bytes, or 0 if it is not a Buffer.',
      'static int smbfuse_lent_piece (napi_env env, napi_value pieces, uint32_t i, char **p, size_t *len) {',
      '  napi_value piece;',
      '  if (napi_get_element(env, pieces, i, &piece) != napi_ok) return 0;',
      '  return napi_get_buffer_info(env, piece, (void **) p, len) == napi_ok;',
      '}',
      '',
      '// A read answered with argv[4], the Buffers holding its *res bytes in order, and',
      '// argv[5], their slot: kept for the channel, which writes them in place of',
      '// libfuse\'s buffer. Pieces that do not add up make the answer EIO; too many,',
      '// or no usable slot, are copied into libfuse\'s buffer; a slot the channel does',
      '// not get is marked sent now. Runs inside a signal function: must not fail.',
      'static void smbfuse_note_lent (napi_env env, int32_t *res, size_t argc, napi_value *argv, fuse_thread_locals_t *l) {',
      '  l->smbfuse_lent_count = 0;',
      '  l->smbfuse_lent_slot = 0;',
      '  if (argc < 5) return;',
      '  uint32_t slot = 0;',
      '  int has_slot = argc >= 6 && napi_get_value_uint32(env, argv[5], &slot) == napi_ok && slot < smbfuse_lent_slots;',
      '  bool is_array = false;',
      '  uint32_t n = 0;',
      '  if (napi_is_array(env, argv[4], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[4], &n) != napi_ok) n = 0;',
      '  size_t total = 0;',
      '  int ok = *res > 0;',
      '  for (uint32_t i = 0; i < n && ok; i++) {',
      '    char *p = NULL;',
      '    size_t len = 0;',
      '    if (!smbfuse_lent_piece(env, argv[4], i, &p, &len) || total + len > l->len) ok = 0;',
      '    else if (i < SMBFUSE_LENT_PIECES) {',
      '      l->smbfuse_lent[i].iov_base = p;',
      '      l->smbfuse_lent[i].iov_len = len;',
      '    }',
      '    total += len;',
      '  }',
      '  if (!ok || total != (size_t) *res) {',
      '    *res = -EIO;',
      '  } else if (has_slot && n <= SMBFUSE_LENT_PIECES) {',
      '    l->smbfuse_lent_count = n;',
      '    l->smbfuse_lent_slot = slot + 1;',
      '    return;',
      '  } else {',
      '    size_t at = 0;',
      '    for (uint32_t i = 0; i < n; i++) {',
      '      char *p = NULL;',
      '      size_t len = 0;',
      '      if (smbfuse_lent_piece(env, argv[4], i, &p, &len)) memcpy((char *) l->buf + at, p, len);',
      '      at += len;',
      '    }',
      '  }',
      '  if (has_slot) smbfuse_lent_sent(slot + 1);',
      '}',
      '',
      'FUSE_METHOD(read, 6, 4,',
    ].join('\n'),
  ],
  [
    '}, {\n  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);\n})\n\nFUSE_METHOD(write,',
    '}, {\n  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1) assert(napi_detach_arraybuffer(env, argv[3]) == napi_ok);\n  smbfuse_note_lent(env, &res, argc, argv, l);\n})\n\nFUSE_METHOD(write,',
  ],
  ['  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n', '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n  NAPI_EXPORT_FUNCTION(smbfuse_lend_table)\n'],
  [
    'static int smbfuse_chan_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {\n  if (!iov) return 0;\n',
    [
      'static int smbfuse_chan_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {',
      '  if (!iov) return 0;',
      '  // A READ answer whose bytes JavaScript lent (smbfuse_note_lent): written from',
      '  // there, in place of libfuse\'s buffer, which holds nothing of them.',
      '  fuse_thread_locals_t *lt = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);',
      '  uint32_t lent_slot = 0;',
      '  struct iovec lent_iov[1 + SMBFUSE_LENT_PIECES];',
      '  if (lt != NULL && lt->smbfuse_lent_slot != 0) {',
      '    lent_slot = lt->smbfuse_lent_slot;',
      '    lt->smbfuse_lent_slot = 0;',
      '    if (count == 2 && iov[1].iov_base == lt->buf) {',
      '      size_t total = 0;',
      '      for (uint32_t i = 0; i < lt->smbfuse_lent_count; i++) total += lt->smbfuse_lent[i].iov_len;',
      '      if (total == iov[1].iov_len) {',
      '        lent_iov[0] = iov[0];',
      '        memcpy(lent_iov + 1, lt->smbfuse_lent, lt->smbfuse_lent_count * sizeof(struct iovec));',
      '        iov = lent_iov;',
      '        count = 1 + lt->smbfuse_lent_count;',
      '      } else {',
      '        // Not the length JavaScript answered (never expected): its bytes, as far as they go.',
      '        size_t at = 0;',
      '        for (uint32_t i = 0; i < lt->smbfuse_lent_count && at < iov[1].iov_len; i++) {',
      '          size_t len = lt->smbfuse_lent[i].iov_len;',
      '          if (len > iov[1].iov_len - at) len = iov[1].iov_len - at;',
      '          memcpy((char *) iov[1].iov_base + at, lt->smbfuse_lent[i].iov_base, len);',
      '          at += len;',
      '        }',
      '      }',
      '    }',
      '    lt->smbfuse_lent_count = 0;',
      '  }',
      '',
    ].join('\n'),
  ],
  [
    '  ssize_t n = writev(fuse_chan_fd(ch), iov, count);\n  if (unique != 0) smbfuse_read_sent(st, unique);\n',
    '  ssize_t n = writev(fuse_chan_fd(ch), iov, count);\n  if (lent_slot != 0) smbfuse_lent_sent(lent_slot);\n  if (unique != 0) smbfuse_read_sent(st, unique);\n',
  ],
  // --- end of lent reads ---
  // --- smbfuse primed lookups (see the top) ---
  [
    'FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {\n  l->path = path;\n',
    [
      '#include <time.h>',
      '',
      '// smbfuse primed lookups: stats JavaScript handed over with a readdir answer, by',
      '// path, which getattr answers on libfuse\'s thread (no hop to JavaScript) while',
      '// the epoch word JavaScript registered still holds the value they came under',
      '// (JavaScript moves it whenever anything its cached getattr answers from',
      '// changes) and until their deadline. An open-addressed table of the last',
      '// listings\' entries; emptied when the epoch moved or it is full.',
      '#define SMBFUSE_PRIMED_SLOTS 131072',
      '#define SMBFUSE_PRIMED_MAX 65536',
      '#define SMBFUSE_PRIMED_WORDS 24',
      '// Slots an entry may lie past its hash\'s: names a hostile server chose to collide',
      '// cost a bounded probe (such an entry is left to JavaScript), not a scan of the table.',
      '#define SMBFUSE_PRIMED_PROBES 64',
      'typedef struct { uint64_t hash; int64_t deadline_ns; struct stat st; char path[]; } smbfuse_primed_t;',
      'static smbfuse_primed_t **smbfuse_primed = NULL;',
      '// The slots in use, in the order they were filled: emptying the table costs',
      '// what it holds, not a pass over all its slots (a listing after every write).',
      'static uint32_t *smbfuse_primed_used = NULL;',
      'static uint32_t smbfuse_primed_count = 0;',
      'static int32_t smbfuse_primed_epoch = 0;',
      'static int32_t *smbfuse_epoch_word = NULL;',
      'static uint64_t smbfuse_primed_hits = 0;',
      'static pthread_mutex_t smbfuse_primed_lock = PTHREAD_MUTEX_INITIALIZER;',
      '',
      'static uint64_t smbfuse_hash (const char *s, size_t n) {',
      '  uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a 64',
      '  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char) s[i]) * 0x100000001b3ULL;',
      '  return h;',
      '}',
      '',
      'static int64_t smbfuse_now_ns (void) {',
      '  struct timespec ts;',
      '  clock_gettime(CLOCK_MONOTONIC, &ts);',
      '  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;',
      '}',
      '',
      '// Called with the lock held.',
      'static void smbfuse_primed_clear (void) {',
      '  if (smbfuse_primed == NULL) return;',
      '  for (uint32_t i = 0; i < smbfuse_primed_count; i++) {',
      '    uint32_t s = smbfuse_primed_used[i];',
      '    free(smbfuse_primed[s]);',
      '    smbfuse_primed[s] = NULL;',
      '  }',
      '  smbfuse_primed_count = 0;',
      '}',
      '',
      '// JavaScript\'s epoch word (a 4-byte aligned Buffer it keeps alive for good).',
      'NAPI_METHOD(smbfuse_prime_epoch) {',
      '  NAPI_ARGV(1)',
      '  char *p = NULL;',
      '  size_t len = 0;',
      '  if (napi_get_buffer_info(env, argv[0], (void **) &p, &len) != napi_ok || len < 4 || ((uintptr_t) p) % 4 != 0) return NULL;',
      '  pthread_mutex_lock(&smbfuse_primed_lock);',
      '  smbfuse_primed_clear();',
      '  smbfuse_epoch_word = (int32_t *) p;',
      '  pthread_mutex_unlock(&smbfuse_primed_lock);',
      '  return NULL;',
      '}',
      '',
      '// getattr answers given from the table so far.',
      'NAPI_METHOD(smbfuse_primed_answers) {',
      '  pthread_mutex_lock(&smbfuse_primed_lock);',
      '  double n = (double) smbfuse_primed_hits;',
      '  pthread_mutex_unlock(&smbfuse_primed_lock);',
      '  napi_value out;',
      '  napi_create_double(env, n, &out);',
      '  return out;',
      '}',
      '',
      '// getattr of `path` from the table: 1 with *out filled, else 0 (ask JavaScript).',
      'static int smbfuse_primed_get (const char *path, struct stat *out) {',
      '  // Nothing primed, or primed under an epoch that moved (every write, every',
      '  // change): no hash, no lock. A stale look here only sends the call on to',
      '  // JavaScript; the check under the lock is the one that counts.',
      '  if (path == NULL || path[0] != \'/\' || __atomic_load_n(&smbfuse_primed_count, __ATOMIC_RELAXED) == 0) return 0;',
      '  if (smbfuse_epoch_word == NULL || __atomic_load_n(smbfuse_epoch_word, __ATOMIC_RELAXED) != __atomic_load_n(&smbfuse_primed_epoch, __ATOMIC_RELAXED)) return 0;',
      '  uint64_t h = smbfuse_hash(path, strlen(path));',
      '  int found = 0;',
      '  pthread_mutex_lock(&smbfuse_primed_lock);',
      '  if (smbfuse_primed != NULL && smbfuse_primed_count > 0 && smbfuse_epoch_word != NULL &&',
      '      __atomic_load_n(smbfuse_epoch_word, __ATOMIC_SEQ_CST) == smbfuse_primed_epoch) {',
      '    uint32_t i = h & (SMBFUSE_PRIMED_SLOTS - 1);',
      '    for (uint32_t n = 0; n < SMBFUSE_PRIMED_PROBES && smbfuse_primed[i] != NULL; n++, i = (i + 1) & (SMBFUSE_PRIMED_SLOTS - 1)) {',
      '      smbfuse_primed_t *e = smbfuse_primed[i];',
      '      if (e->hash != h || strcmp(e->path, path) != 0) continue;',
      '      if (e->deadline_ns > smbfuse_now_ns()) {',
      '        *out = e->st;',
      '        found = 1;',
      '        smbfuse_primed_hits++;',
      '      }',
      '      break;',
      '    }',
      '  }',
      '  pthread_mutex_unlock(&smbfuse_primed_lock);',
      '  return found;',
      '}',
      '',
      '// A readdir answer\'s primed stats (src/fuse-binding.ts packPrimed): for the n-th',
      '// name of `names`, SMBFUSE_PRIMED_WORDS uint32s at n: milliseconds it holds',
      '// (0: not primed), one unused, then the stat as populate_stat reads it; `stamp`',
      '// is the epoch they were made under. Runs inside a signal function: must not fail.',
      'static void smbfuse_prime (napi_env env, const char *dir, napi_value names, napi_value prime, napi_value stamp) {',
      '  char *p = NULL;',
      '  size_t plen = 0;',
      '  char *w = NULL;',
      '  size_t wlen = 0;',
      '  int32_t at = 0;',
      '  if (dir == NULL || dir[0] != \'/\') return;',
      '  if (napi_get_value_int32(env, stamp, &at) != napi_ok) return;',
      '  if (napi_get_buffer_info(env, names, (void **) &p, &plen) != napi_ok) return;',
      '  if (napi_get_buffer_info(env, prime, (void **) &w, &wlen) != napi_ok) return;',
      '  size_t dlen = strlen(dir);',
      '  if (dlen == 1) dlen = 0;',
      '  const size_t entry_bytes = SMBFUSE_PRIMED_WORDS * 4;',
      '  pthread_mutex_lock(&smbfuse_primed_lock);',
      '  if (smbfuse_epoch_word == NULL || __atomic_load_n(smbfuse_epoch_word, __ATOMIC_SEQ_CST) != at) goto done;',
      '  if (smbfuse_primed == NULL) {',
      '    if (smbfuse_primed_used == NULL) smbfuse_primed_used = malloc(SMBFUSE_PRIMED_MAX * sizeof(uint32_t));',
      '    if (smbfuse_primed_used != NULL) smbfuse_primed = calloc(SMBFUSE_PRIMED_SLOTS, sizeof(smbfuse_primed_t *));',
      '  }',
      '  if (smbfuse_primed == NULL) goto done;',
      '  if (smbfuse_primed_epoch != at) {',
      '    smbfuse_primed_clear();',
      '    smbfuse_primed_epoch = at;',
      '  }',
      '  int64_t now = smbfuse_now_ns();',
      '  char *end = p + plen;',
      '  for (size_t i = 0; (i + 1) * entry_bytes <= wlen && p < end; i++) {',
      '    char *nul = memchr(p, 0, end - p);',
      '    if (nul == NULL) break;',
      '    size_t nlen = nul - p;',
      '    char *name = p;',
      '    p = nul + 1;',
      '    uint32_t words[SMBFUSE_PRIMED_WORDS];',
      '    memcpy(words, w + i * entry_bytes, entry_bytes);',
      '    if (words[0] == 0 || nlen == 0 || memchr(name, \'/\', nlen) != NULL) continue;',
      '    if (smbfuse_primed_count >= SMBFUSE_PRIMED_MAX) smbfuse_primed_clear();',
      '    smbfuse_primed_t *e = malloc(sizeof(smbfuse_primed_t) + dlen + 1 + nlen + 1);',
      '    if (e == NULL) break;',
      '    memcpy(e->path, dir, dlen);',
      '    e->path[dlen] = \'/\';',
      '    memcpy(e->path + dlen + 1, name, nlen);',
      '    e->path[dlen + 1 + nlen] = 0;',
      '    e->hash = smbfuse_hash(e->path, dlen + 1 + nlen);',
      '    e->deadline_ns = now + (int64_t) words[0] * 1000000;',
      '    memset(&(e->st), 0, sizeof(struct stat));',
      '    populate_stat(words + 2, &(e->st));',
      '    uint32_t s = e->hash & (SMBFUSE_PRIMED_SLOTS - 1);',
      '    uint32_t n = 0;',
      '    while (n < SMBFUSE_PRIMED_PROBES && smbfuse_primed[s] != NULL && (smbfuse_primed[s]->hash != e->hash || strcmp(smbfuse_primed[s]->path, e->path) != 0)) {',
      '      s = (s + 1) & (SMBFUSE_PRIMED_SLOTS - 1);',
      '      n++;',
      '    }',
      '    if (n == SMBFUSE_PRIMED_PROBES) {',
      '      free(e);',
      '      continue;',
      '    }',
      '    if (smbfuse_primed[s] != NULL) free(smbfuse_primed[s]);',
      '    else smbfuse_primed_used[smbfuse_primed_count++] = s;',
      '    smbfuse_primed[s] = e;',
      '  }',
      '  done:',
      '  pthread_mutex_unlock(&smbfuse_primed_lock);',
      '}',
      '',
      'FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {',
      '  if (smbfuse_primed_get(path, stat)) return 0;',
      '  l->path = path;',
      '',
    ].join('\n'),
  ],
  ['FUSE_METHOD(readdir, 1, 2,', 'FUSE_METHOD(readdir, 1, 4,'],
  [
    '    smbfuse_fill_packed(env, l, argv[2], argv[3]);\n',
    '    smbfuse_fill_packed(env, l, argv[2], argv[3]);\n    if (res == 0 && argc >= 6) smbfuse_prime(env, l->path, argv[2], argv[4], argv[5]);\n',
  ],
  ['  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n', '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n  NAPI_EXPORT_FUNCTION(smbfuse_prime_epoch)\n  NAPI_EXPORT_FUNCTION(smbfuse_primed_answers)\n'],
  // --- end of primed lookups ---
  ...oneThreadEdits,
];

/** The patched text of a pristine 2.2.6 source, or null if an anchor is missing. */
function patch(text) {
  for (const [from, to, all] of edits) {
    if (!text.includes(from)) return null;
    text = all ? text.split(from).join(to) : text.replace(from, to);
  }
  return MARK + text;
}

const text = readFileSync(src, 'utf8');
if (text.startsWith(MARK) && builtVersion() === PATCH_VERSION) {
  log(`fuse-native already patched (version ${PATCH_VERSION}) and built`);
  process.exit(0);
}
// The pristine source: the saved copy, or this one undoing the first version
// of this patch (which changed one argument and left no mark).
const v1 = ['FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)', 'FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)'];
let pristine = null;
if (existsSync(orig)) pristine = readFileSync(orig, 'utf8');
else if (!text.includes('smbfuse-patch')) pristine = text.replace(v1[0], v1[1]);
const patched = pristine === null ? null : patch(pristine);
if (patched === null) {
  log(`fuse-native source is not 2.2.6 as expected; ${without}`);
  process.exit(0);
}
if (!existsSync(orig)) writeFileSync(orig, pristine);
writeFileSync(src, patched);

/** npm's own node-gyp (npm sets npm_config_node_gyp for lifecycle scripts). */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** Node's headers where this node is installed (node-gyp would otherwise download them). */
function nodeDir() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm && existsSync(path.join(fromNpm, 'include', 'node', 'node.h'))) return fromNpm;
  const prefix = path.join(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? path.resolve(prefix) : null;
}

const gyp = nodeGyp();
const headers = nodeDir();
if (!gyp) {
  log(`node-gyp not found: ${without}`);
  process.exit(0);
}
try {
  const args = [gyp, 'rebuild', ...(headers ? [`--nodedir=${headers}`] : [])];
  execFileSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300000 });
  log(`rebuilt fuse-native with the smbfuse patch (version ${PATCH_VERSION})`);
} catch (e) {
  log(`could not rebuild fuse-native (${String(e.stderr ?? e.message).trim().split('\n').pop()}); ${without}`);
}
