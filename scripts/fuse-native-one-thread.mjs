// The "smbfuse one thread" edits of scripts/patch-fuse-native.mjs: requests
// are read from /dev/fuse and run through libfuse on Node's main thread (the
// functions in fuse-native-one-thread.c; its head comment says how). These
// edits come after all the others and are anchored on their result.
import { readFileSync } from 'node:fs';

const fragment = readFileSync(new URL('./fuse-native-one-thread.c', import.meta.url), 'utf8');

/** [anchor, replacement] pairs, in order. */
export const oneThreadEdits = [
  ['#include <unistd.h>\n', '#include <unistd.h>\n#include <fcntl.h>\n'],
  [
    '#define SMBFUSE_LENT_PIECES 8\n',
    '#define SMBFUSE_LENT_PIECES 8\n// smbfuse one thread: calls of one request into JavaScript whose answers are kept\n#define SMBFUSE_CALLS 16\n// ... and bytes of a request kept as read (headers and fixed arguments)\n#define SMBFUSE_HEAD 512\n',
  ],
  // The mount: the main loop's handles for /dev/fuse and the hidden-name thread.
  [
    '  void *smbfuse_free;\n} fuse_thread_t;',
    String.raw`  void *smbfuse_free;

  // smbfuse one thread: /dev/fuse on the main loop; requests JavaScript
  // answered, run again in the check (or idle) phase; held READ answers'
  // bound; the hidden-name thread's wake-up; the kernel ended the session
  uv_poll_t smbfuse_poll;
  uv_check_t smbfuse_check;
  uv_idle_t smbfuse_idle;
  uv_timer_t smbfuse_hold_timer;
  uv_async_t smbfuse_worker_async;
  int smbfuse_ended;
} fuse_thread_t;`,
  ],
  // A request's locals (one per request now, not per thread).
  [
    '  uint32_t smbfuse_lent_slot;\n\n} fuse_thread_locals_t;',
    String.raw`  uint32_t smbfuse_lent_slot;

  // smbfuse one thread: the request as read from /dev/fuse, kept until answered
  char *smbfuse_in;
  size_t smbfuse_in_len;
  // its first bytes as read (libfuse changes some arguments in place; a later pass gets them back)
  char smbfuse_head[SMBFUSE_HEAD];
  size_t smbfuse_in_cap;
  uint64_t smbfuse_unique;
  uint64_t smbfuse_nodeid;
  uint32_t smbfuse_opcode;
  // JavaScript's answers to the request's calls so far, in call order, and
  // which call each answered; the call libfuse is at in this pass
  int32_t smbfuse_res[SMBFUSE_CALLS];
  uint32_t smbfuse_ops[SMBFUSE_CALLS];
  uint32_t smbfuse_calls;
  uint32_t smbfuse_at;
  // JavaScript owes a call its answer; the request waits for it (this pass's
  // answer is dropped), or is done without it (release), or goes to / is on
  // the hidden-name thread
  uint32_t smbfuse_js;
  uint32_t smbfuse_pending;
  uint32_t smbfuse_orphan;
  uint32_t smbfuse_to_worker;
  uint32_t smbfuse_on_worker;
  // a short READ answer held back, since when (ns, 0: not held)
  uint32_t smbfuse_held;
  int64_t smbfuse_held_since;
  // where JavaScript writes an answer, and libfuse's places it is copied to
  struct stat smbfuse_own_stat;
  struct statvfs smbfuse_own_statvfs;
  struct fuse_file_info smbfuse_own_info;
  char *smbfuse_own_buf;
  size_t smbfuse_own_cap;
  struct stat *smbfuse_live_stat;
  struct statvfs *smbfuse_live_statvfs;
  struct fuse_file_info *smbfuse_live_info;
  char *smbfuse_live_buf;
  // a readdir answer's Buffers until libfuse's listing takes them
  napi_ref smbfuse_dir[3];
  uint32_t smbfuse_dir_count;
  int32_t smbfuse_dir_stamp;
  int smbfuse_dir_stamp_ok;
  // the main thread's lists; every locals made
  void *smbfuse_qnext;
  void *smbfuse_all_next;
} fuse_thread_locals_t;`,
  ],
  [
    'static pthread_key_t thread_locals_key;\nstatic fuse_thread_locals_t* get_thread_locals();\n',
    String.raw`// smbfuse one thread: the request the calling thread runs through libfuse
static __thread fuse_thread_locals_t *smbfuse_current;
static fuse_thread_locals_t *smbfuse_call_locals (void);
static int smbfuse_redirect (fuse_thread_locals_t *l, int replay);
static int smbfuse_apply (fuse_thread_locals_t *l, uint32_t at);
static int smbfuse_ask (fuse_thread_locals_t *l, uint32_t at);
static void smbfuse_answered (fuse_thread_locals_t *l);
static void smbfuse_keep_dir (napi_env env, fuse_thread_locals_t *l, size_t argc, napi_value *argv);
`,
  ],
  // A call: its answer recorded in an earlier pass, a shortcut, or JavaScript.
  [
    String.raw`#define FUSE_NATIVE_HANDLER(name, blk)\
  fuse_thread_locals_t *l = get_thread_locals();\
  l->op = op_##name;\
  l->op_fn = fuse_native_dispatch_##name;\
  if (l->op != op_fgetattr) l->smbfuse_created_ok = 0;\
  l->smbfuse_noflush = 0;\
  l->smbfuse_inval_attr = 0;\
  blk\
  __atomic_store_n(&(l->smbfuse_seq), l->smbfuse_seq + 1, __ATOMIC_SEQ_CST);\
  __atomic_store_n(&(l->smbfuse_waiting), 1, __ATOMIC_SEQ_CST);\
  uv_async_send(&(l->async));\
  uv_sem_wait(&(l->sem));\
  __atomic_store_n(&(l->smbfuse_waiting), 0, __ATOMIC_SEQ_CST);\
  return l->res;
`,
    String.raw`#define FUSE_NATIVE_HANDLER(name, blk)\
  fuse_thread_locals_t *l = smbfuse_call_locals();\
  if (l == NULL) return -EIO;\
  if (l->smbfuse_pending || l->smbfuse_to_worker || l->smbfuse_at >= SMBFUSE_CALLS) return -EIO;\
  uint32_t smbfuse_at = l->smbfuse_at++;\
  int smbfuse_replay = smbfuse_at < l->smbfuse_calls;\
  int32_t smbfuse_early = 1;\
  l->op = op_##name;\
  l->op_fn = fuse_native_dispatch_##name;\
  if (!smbfuse_replay) {\
    if (l->op != op_fgetattr) l->smbfuse_created_ok = 0;\
    l->smbfuse_noflush = 0;\
    l->smbfuse_inval_attr = 0;\
  }\
  blk\
  if (smbfuse_redirect(l, smbfuse_replay) != 0) return -ENOMEM;\
  if (smbfuse_replay) return smbfuse_apply(l, smbfuse_at);\
  if (smbfuse_early <= 0) {\
    l->smbfuse_res[smbfuse_at] = smbfuse_early;\
    l->smbfuse_ops[smbfuse_at] = l->op;\
    l->smbfuse_calls = smbfuse_at + 1;\
    return smbfuse_apply(l, smbfuse_at);\
  }\
  return smbfuse_ask(l, smbfuse_at);
`,
  ],
  [
    String.raw`    signalBlk\
    l->res = res;\
    uv_sem_post(&(l->sem));\
    return NULL;\
`,
    String.raw`    if (!l->smbfuse_js) return NULL;\
    signalBlk\
    l->res = res;\
    smbfuse_answered(l);\
    return NULL;\
`,
  ],
  // Shortcuts: recorded like answers (a later pass may not find them again).
  [
    '  if (smbfuse_primed_get(path, stat)) return 0;\n  l->path = path;\n  l->stat = stat;\n',
    '  l->path = path;\n  l->stat = stat;\n  if (!smbfuse_replay && smbfuse_primed_get(path, &(l->smbfuse_own_stat))) smbfuse_early = 0;\n',
  ],
  [
    String.raw`  if (l->smbfuse_created_ok && info != NULL && info->fh == l->smbfuse_created_fh) {
    l->smbfuse_created_ok = 0;
    *stat = l->smbfuse_created;
    return 0;
  }
  l->path = path;
  l->stat = stat;
  l->info = info;
`,
    String.raw`  l->path = path;
  l->stat = stat;
  l->info = info;
  if (!smbfuse_replay && l->smbfuse_created_ok && info != NULL && info->fh == l->smbfuse_created_fh) {
    l->smbfuse_created_ok = 0;
    l->smbfuse_own_stat = l->smbfuse_created;
    smbfuse_early = 0;
  }
`,
  ],
  // readdir's answer is filled into libfuse's listing when libfuse asks for it (smbfuse_fill_dir).
  [
    String.raw`  bool smbfuse_packed = false;
  napi_is_buffer(env, argv[2], &smbfuse_packed);
  if (smbfuse_packed) {
    smbfuse_fill_packed(env, l, argv[2], argv[3]);
    if (res == 0 && argc >= 6) smbfuse_prime(env, l->path, argv[2], argv[4], argv[5]);
    goto smbfuse_filled;
  }
  uint32_t stats_length;
  uint32_t names_length;
  napi_get_array_length(env, argv[3], &stats_length);
  napi_get_array_length(env, argv[2], &names_length);

  napi_value raw_names = argv[2];
  napi_value raw_stats = argv[3];

  if (names_length != stats_length) {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      int err = l->readdir_filler((char *) l->buf, name, NULL, 0);
      if (err == 1) {
        break;
      }
    }
  } else {
    NAPI_FOR_EACH(raw_names, raw_name) {
      NAPI_UTF8(name, 1024, raw_name)
      napi_value raw_stat;
      napi_get_element(env, raw_stats, i, &raw_stat);

      NAPI_BUFFER_CAST(uint32_t*, stats_array, raw_stat);
      struct stat st;
      populate_stat(stats_array, &st);

      // TODO: It turns out readdirplus likely won't work with FUSE 29...
      // Metadata caching between readdir/getattr will be enabled when we upgrade fuse-shared-library
      int err = l->readdir_filler((char *) l->buf, name, (struct stat *) &st, 0);
      if (err == 1) {
        break;
      }
    }
  }
  smbfuse_filled: ;
`,
    '  smbfuse_keep_dir(env, l, argc, argv);\n',
  ],
  // init: JavaScript is told; libfuse does not wait for its answer.
  [
    String.raw`  NAPI_ARGV_INT32(res, 1);
  l->res = res;
  uv_sem_post(&(l->sem));
  return NULL;
}

static void * fuse_native_init (struct fuse_conn_info *conn) {
  fuse_thread_locals_t *l = get_thread_locals();

  l->op = op_init;
  l->op_fn = fuse_native_dispatch_init;

  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));

  return l->fuse;
}
`,
    String.raw`  NAPI_ARGV_INT32(res, 1);
  if (!l->smbfuse_js) return NULL;
  l->res = res;
  smbfuse_answered(l);
  return NULL;
}

static void * fuse_native_init (struct fuse_conn_info *conn) {
  fuse_thread_locals_t *l = smbfuse_call_locals();
  if (l == NULL) return fuse_get_context()->private_data;
  l->op = op_init;
  l->op_fn = fuse_native_dispatch_init;
  l->smbfuse_js = 1;
  fuse_native_dispatch_init(NULL, l, l->fuse);
  if (l->smbfuse_js) l->smbfuse_orphan = 1;
  return l->fuse;
}
`,
  ],
  // Short READ answers are held, not waited for (the main thread must not wait): see smbfuse_hold_answer.
  [
    String.raw`  if (!iov) return 0;
  // A READ answer whose bytes JavaScript lent (smbfuse_note_lent): written from
  // there, in place of libfuse's buffer, which holds nothing of them.
  fuse_thread_locals_t *lt = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);
`,
    String.raw`  if (!iov) return 0;
  if (count >= 1 && iov[0].iov_len >= 16) {
    uint64_t u;
    int32_t e;
    size_t d = 0;
    memcpy(&u, (char *) iov[0].iov_base + 8, 8);
    memcpy(&e, (char *) iov[0].iov_base + 4, 4);
    for (size_t i = 0; i < count; i++) d += iov[i].iov_len;
    if (smbfuse_hold_answer((smbfuse_chan_state_t *) fuse_chan_data(ch), u, e, d - 16)) return 0;
  }
  // A READ answer whose bytes JavaScript lent (smbfuse_note_lent): written from
  // there, in place of libfuse's buffer, which holds nothing of them.
  fuse_thread_locals_t *lt = smbfuse_current;
`,
  ],
  [
    '    fuse_thread_locals_t *tl = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);\n',
    '    fuse_thread_locals_t *tl = smbfuse_current;\n',
  ],
  // libfuse's loop on a thread of its own is gone; the main loop reads /dev/fuse.
  [
    String.raw`static void* start_fuse_thread (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  fuse_loop_mt(ft->fuse);

  fuse_unmount(ft->mnt, ft->ch);
  fuse_session_remove_chan(ft->ch);
  fuse_destroy(ft->fuse);

  return NULL;
}
`,
    '',
  ],
  ['NAPI_METHOD(fuse_native_mount) {\n', `${fragment}NAPI_METHOD(fuse_native_mount) {\n`],
  [
    '  pthread_attr_init(&(ft->attr));\n  pthread_create(&(ft->thread), &(ft->attr), start_fuse_thread, ft);\n',
    '  if (smbfuse_start(ft) != 0) {\n    napi_throw_error(env, "fuse failed", "fuse failed");\n    return NULL;\n  }\n',
  ],
  // --- what only libfuse's threads used ---
  [
    String.raw`// Top-level dispatcher

static void fuse_native_dispatch (uv_async_t* handle) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) handle->data;
  fuse_thread_t *ft = l->fuse;
  void (*fn)(uv_async_t *, fuse_thread_locals_t *, fuse_thread_t *) = l->op_fn;

  fn(handle, l, ft);
}

static void fuse_native_async_init (uv_async_t* handle) {
  fuse_thread_t *ft = (fuse_thread_t *) handle->data;
  fuse_thread_locals_t *l;

  FUSE_NATIVE_CALLBACK(ft->malloc, {
    napi_value argv[1];
    napi_create_uint32(ft->env, (uint32_t) sizeof(fuse_thread_locals_t), &(argv[0]));

    napi_value buf;
    NAPI_MAKE_CALLBACK(ft->env, NULL, ctx, callback, 1, argv, &buf);

    size_t l_len;

    napi_get_buffer_info(env, buf, (void **) &l, &l_len);
    napi_create_reference(env, buf, 1, &(l->self));
  })


  int err = uv_async_init(uv_default_loop(), &(l->async), (uv_async_cb) fuse_native_dispatch);
  assert(err >= 0);

  uv_unref((uv_handle_t *) &(l->async));

  uv_sem_init(&(l->sem), 0);
  l->async.data = l;
  ft->async.data = l;
  l->fuse = ft;

  uv_sem_post(&(ft->sem));
}

static fuse_thread_locals_t* get_thread_locals () {
  struct fuse_context *ctx = fuse_get_context();
  fuse_thread_t *ft = (fuse_thread_t *) ctx->private_data;

  void *data = pthread_getspecific(thread_locals_key);

  if (data != NULL) {
    return (fuse_thread_locals_t *) data;
  }

  // Need to lock the mutation of l->async.
  uv_mutex_lock(&(ft->mut));

  // smbfuse: the locals an ended thread left, handle and all, if there are any.
  if (ft->smbfuse_free != NULL) {
    fuse_thread_locals_t *kept = (fuse_thread_locals_t *) ft->smbfuse_free;
    ft->smbfuse_free = kept->smbfuse_next;
    kept->smbfuse_next = NULL;
    pthread_setspecific(thread_locals_key, (void *) kept);
    uv_mutex_unlock(&(ft->mut));
    return kept;
  }
  ft->async.data = ft;

  // Notify the main thread to uv_async_init l->async.
  uv_async_send(&(ft->async));
  uv_sem_wait(&(ft->sem));

  fuse_thread_locals_t *l = (fuse_thread_locals_t*) ft->async.data;

  pthread_setspecific(thread_locals_key, (void *) l);
  uv_mutex_unlock(&(ft->mut));

  return l;
}

`,
    String.raw`// smbfuse one thread: ft->async only holds the loop open while mounted (fuse_native_unmount lets go).
static void smbfuse_hold_loop (uv_async_t* handle) {
  (void) handle;
}

`,
  ],
  ['(uv_async_cb) fuse_native_async_init);', 'smbfuse_hold_loop);'],
  [String.raw`// smbfuse interrupt: runs on the libfuse thread libfuse signals (SIGUSR2).
static void smbfuse_intr_handler (int sig) {
  (void) sig;
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);
  if (l == NULL || !__atomic_load_n(&(l->smbfuse_waiting), __ATOMIC_SEQ_CST)) return;
  __atomic_store_n(&(l->smbfuse_intr_seq), __atomic_load_n(&(l->smbfuse_seq), __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
  uv_async_send(&(l->fuse->smbfuse_intr_async)); // async-signal-safe
}

`, ''],
  [String.raw`// smbfuse: a libfuse thread ends (pthread key destructor): keep its locals for the next one.
// Set only after get_thread_locals let go of the mutex, so never called while this thread holds it.
static void smbfuse_keep_locals (void *data) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) data;
  fuse_thread_t *ft = l->fuse;
  uv_mutex_lock(&(ft->mut));
  l->smbfuse_next = ft->smbfuse_free;
  ft->smbfuse_free = l;
  uv_mutex_unlock(&(ft->mut));
}

`, ''],
  [String.raw`  // smbfuse interrupt: our handler for intr_signal=12 (installed first, libfuse keeps it).
  struct sigaction smbfuse_sa;
  memset(&smbfuse_sa, 0, sizeof(smbfuse_sa));
  smbfuse_sa.sa_handler = smbfuse_intr_handler;
  sigemptyset(&smbfuse_sa.sa_mask);
  smbfuse_sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR2, &smbfuse_sa, NULL);
`, '  // smbfuse interrupt: the binding matches INTERRUPT requests itself (smbfuse_interrupt).\n'],
  ['  pthread_key_create(&(thread_locals_key), smbfuse_keep_locals);\n', ''],
  // --- comments that spoke of libfuse's threads ---
  ["  // smbfuse interrupt: the request this thread waits for (numbered) and the one interrupted\n", "  // smbfuse interrupt: the call JavaScript owes this request (numbered) and the one interrupted\n"],
  ["  // smbfuse: the OPEN answer this thread sends next gets FOPEN_NOFLUSH\n", "  // smbfuse: this request's OPEN answer gets FOPEN_NOFLUSH\n"],
  ["  // smbfuse lent reads: the bytes of the READ answer this thread sends next, and their slot + 1 (0: none)\n", "  // smbfuse lent reads: the bytes of this request's READ answer, and their slot + 1 (0: none)\n"],
  ["// path, which getattr answers on libfuse's thread (no hop to JavaScript) while\n", "// path, which getattr answers in the binding (no call into JavaScript) while\n"],
  ["// The node of the request this thread read last (libfuse2 answers it on the same thread).\n", "// The node of the request this thread runs through libfuse (smbfuse one thread).\n"],
  ["  // An OPEN answer (16-byte fuse_open_out) this thread was told needs no FLUSH,\n", "  // An OPEN answer (16-byte fuse_open_out) JavaScript said needs no FLUSH,\n"],
  ["  // smbfuse: locals of ended threads, for the next ones (a list through smbfuse_next; under mut)\n", "  // smbfuse: request locals not in use (a list through smbfuse_next; main thread only)\n"],
  // A big lent READ answer goes to the writing thread (smbfuse_send_aside).
  [
    String.raw`        iov = lent_iov;
        count = 1 + lt->smbfuse_lent_count;
`,
    String.raw`        iov = lent_iov;
        count = 1 + lt->smbfuse_lent_count;
        if (smbfuse_send_aside(iov, count, lent_slot, total)) {
          lt->smbfuse_lent_count = 0;
          return 0;
        }
`,
  ],
];
