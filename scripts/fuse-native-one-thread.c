// --- smbfuse one thread (inserted by scripts/patch-fuse-native.mjs) ---
// The main thread reads /dev/fuse itself (a libuv poll on the descriptor) and
// runs each request through libfuse there. A handler's call into JavaScript
// is then a plain call, and an answer JavaScript gives before that call
// returns (a cache hit) is libfuse's answer at once: no thread is woken to
// take the request, none to hand it to JavaScript, none to take the answer
// back. libfuse2's high-level handlers wait for their answer, so a call that
// JavaScript answers later ends libfuse's pass over the request with an
// answer the channel drops; when JavaScript answers, the request goes through
// libfuse again, and every call of it JavaScript already answered gets that
// answer (smbfuse_res, in call order) instead of a second trip.
//
// A rename to one of libfuse's hidden names (an open file unlinked or renamed
// over) cannot be made twice: libfuse picks a new name each pass. Such a
// request is run again from the start on a thread that waits for JavaScript
// as all calls did before, and until it is done the main thread runs no
// other request through libfuse (that thread holds libfuse's locks on the
// paths; a request waiting for them on the main thread would wait forever).

#define SMBFUSE_OP_INTERRUPT 36
#define SMBFUSE_OP_LINK 13
#define SMBFUSE_OP_RELEASE 18
#define SMBFUSE_OP_RELEASEDIR 29
#define SMBFUSE_OP_WRITE 16
// Requests read from /dev/fuse per wake-up before the loop sees to anything else.
#define SMBFUSE_BATCH 32
// Longest a short READ answer is held for the READs below it (every wait has a bound).
#define SMBFUSE_HOLD_MS 500
#ifndef SMBFUSE_SPIN_NS
#define SMBFUSE_SPIN_NS 30000
#endif

static void smbfuse_on_idle (uv_idle_t *h);
static void smbfuse_on_hold_timer (uv_timer_t *h);

// Lists of locals through smbfuse_qnext (main thread only).
typedef struct { fuse_thread_locals_t *head, *tail; } smbfuse_list_t;

static void smbfuse_list_push (smbfuse_list_t *q, fuse_thread_locals_t *l) {
  l->smbfuse_qnext = NULL;
  if (q->tail != NULL) q->tail->smbfuse_qnext = l;
  else q->head = l;
  q->tail = l;
}

static fuse_thread_locals_t *smbfuse_list_pop (smbfuse_list_t *q) {
  fuse_thread_locals_t *l = q->head;
  if (l == NULL) return NULL;
  q->head = l->smbfuse_qnext;
  if (q->head == NULL) q->tail = NULL;
  l->smbfuse_qnext = NULL;
  return l;
}

static fuse_thread_t *smbfuse_ft = NULL;
// Every locals ever made (through smbfuse_all_next), for interrupts.
static fuse_thread_locals_t *smbfuse_all = NULL;
// Requests JavaScript answered a call of, to go through libfuse again.
static smbfuse_list_t smbfuse_ready;
// Requests read while the hidden-name thread works, run after it.
static smbfuse_list_t smbfuse_deferred;
// Short READ answers held for the READs below them.
static smbfuse_list_t smbfuse_held;
// Requests handed to the hidden-name thread and not back yet.
static uint32_t smbfuse_barrier = 0;
// This thread is the hidden-name thread.
static __thread int smbfuse_worker_thread = 0;
// Between the hidden-name thread and the main thread (under smbfuse_q_lock).
static pthread_mutex_t smbfuse_q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t smbfuse_q_cond = PTHREAD_COND_INITIALIZER;
static fuse_thread_locals_t *smbfuse_to_worker = NULL;  // requests for it (one at a time suffices)
static fuse_thread_locals_t *smbfuse_worker_calls = NULL;  // its calls for JavaScript
static fuse_thread_locals_t *smbfuse_worker_done = NULL;  // its finished requests
static int smbfuse_worker_stop = 0;

static fuse_thread_locals_t *smbfuse_call_locals (void) {
  return smbfuse_current;
}

// A new locals: memory from JavaScript (fuse-native's _malloc keeps the list
// JavaScript looks through for interrupts), a semaphore for the hidden-name thread.
static fuse_thread_locals_t *smbfuse_locals_new (fuse_thread_t *ft) {
  fuse_thread_locals_t *l = NULL;
  FUSE_NATIVE_CALLBACK(ft->malloc, {
    napi_value argv[1];
    napi_create_uint32(env, (uint32_t) sizeof(fuse_thread_locals_t), &(argv[0]));
    napi_value buf;
    NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, 1, argv, &buf);
    size_t l_len = 0;
    if (napi_get_buffer_info(env, buf, (void **) &l, &l_len) != napi_ok || l_len < sizeof(fuse_thread_locals_t)) l = NULL;
    else napi_create_reference(env, buf, 1, &(l->self));
  })
  if (l == NULL) return NULL;
  uv_sem_init(&(l->sem), 0);
  l->fuse = ft;
  l->smbfuse_all_next = smbfuse_all;
  smbfuse_all = l;
  return l;
}

// Locals for a request just read: from the free list, else new (main thread).
static fuse_thread_locals_t *smbfuse_locals_get (fuse_thread_t *ft) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) ft->smbfuse_free;
  if (l != NULL) ft->smbfuse_free = l->smbfuse_next;
  if (l == NULL) l = smbfuse_locals_new(ft);
  if (l == NULL) return NULL;
  if (l->smbfuse_in == NULL) {
    size_t cap = fuse_chan_bufsize(ft->ch);
    l->smbfuse_in = malloc(cap);
    if (l->smbfuse_in == NULL) {
      l->smbfuse_next = ft->smbfuse_free;
      ft->smbfuse_free = l;
      return NULL;
    }
    l->smbfuse_in_cap = cap;
  }
  l->smbfuse_next = NULL;
  return l;
}

// A request is done with its locals (main thread: the hidden-name thread hands
// its finished requests back, smbfuse_on_worker).
static void smbfuse_recycle (fuse_thread_locals_t *l) {
  fuse_thread_t *ft = l->fuse;
  l->smbfuse_calls = 0;
  l->smbfuse_at = 0;
  l->smbfuse_js = 0;
  l->smbfuse_pending = 0;
  l->smbfuse_orphan = 0;
  l->smbfuse_to_worker = 0;
  l->smbfuse_on_worker = 0;
  l->smbfuse_held = 0;
  l->smbfuse_unique = 0;
  // A lent answer never written (the request ended otherwise): JavaScript may have its bytes back.
  if (l->smbfuse_lent_slot != 0) smbfuse_lent_sent(l->smbfuse_lent_slot);
  l->smbfuse_lent_slot = 0;
  l->smbfuse_lent_count = 0;
  l->smbfuse_created_ok = 0;
  for (uint32_t i = 0; i < l->smbfuse_dir_count; i++) napi_delete_reference(ft->env, l->smbfuse_dir[i]);
  l->smbfuse_dir_count = 0;
  l->smbfuse_next = ft->smbfuse_free;
  ft->smbfuse_free = l;
}

// Room of `len` bytes of our own for an answer JavaScript writes (NULL: none to be had).
static char *smbfuse_own (fuse_thread_locals_t *l, size_t len) {
  if (len == 0) len = 1;
  if (l->smbfuse_own_cap < len) {
    char *p = realloc(l->smbfuse_own_buf, len);
    if (p == NULL) return NULL;
    l->smbfuse_own_buf = p;
    l->smbfuse_own_cap = len;
  }
  return l->smbfuse_own_buf;
}

// Points the places a call's answer is written to at the locals' own: libfuse's
// (on its stack, or freed) are gone by the time a later answer comes. A call
// answered in an earlier pass keeps what its own places hold.
static int smbfuse_redirect (fuse_thread_locals_t *l, int replay) {
  uint32_t op = l->op;
  if (op == op_getattr || op == op_fgetattr) {
    l->smbfuse_live_stat = l->stat;
    l->stat = &(l->smbfuse_own_stat);
  } else if (op == op_statfs) {
    l->smbfuse_live_statvfs = l->statvfs;
    l->statvfs = &(l->smbfuse_own_statvfs);
  } else if (op == op_open || op == op_create || op == op_opendir) {
    l->smbfuse_live_info = l->info;
    if (l->info != NULL) {
      if (!replay) l->smbfuse_own_info = *(l->info);
      l->info = &(l->smbfuse_own_info);
    }
  } else if (op == op_read) {
    l->smbfuse_live_buf = (char *) l->buf;
    if ((l->buf = smbfuse_own(l, l->len)) == NULL) return -1;
  } else if (op == op_readlink) {
    l->smbfuse_live_buf = l->linkname;
    if ((l->linkname = smbfuse_own(l, l->len)) == NULL) return -1;
  } else if (op == op_getxattr) {
    l->smbfuse_live_buf = (char *) l->value;
    if ((l->value = smbfuse_own(l, l->size)) == NULL) return -1;
  } else if (op == op_listxattr) {
    l->smbfuse_live_buf = l->list;
    if ((l->list = smbfuse_own(l, l->size)) == NULL) return -1;
  }
  return 0;
}

static void smbfuse_fill_dir (fuse_thread_locals_t *l, int32_t res);

// The answer of call `at`, from where JavaScript wrote it to libfuse's places.
static int smbfuse_apply (fuse_thread_locals_t *l, uint32_t at) {
  int32_t res = l->smbfuse_res[at];
  uint32_t op = l->op;
  if (l->smbfuse_ops[at] != op) {
    // libfuse made other calls than in its last pass over the request (the
    // file system changed between them): the answers no longer belong to it.
    fprintf(stderr, "smbfuse: request %llu changed between passes (call %u: %u, now %u)\n", (unsigned long long) l->smbfuse_unique, at, l->smbfuse_ops[at], op);
    return -EIO;
  }
  if (op == op_getattr || op == op_fgetattr) {
    if (res == 0 && l->smbfuse_live_stat != NULL) *(l->smbfuse_live_stat) = l->smbfuse_own_stat;
  } else if (op == op_statfs) {
    if (res == 0 && l->smbfuse_live_statvfs != NULL) *(l->smbfuse_live_statvfs) = l->smbfuse_own_statvfs;
  } else if (op == op_open || op == op_create || op == op_opendir) {
    if (l->smbfuse_live_info != NULL) *(l->smbfuse_live_info) = l->smbfuse_own_info;
  } else if (op == op_read) {
    if (res > (int32_t) l->len) res = -EIO;
    else if (res > 0 && l->smbfuse_lent_slot == 0) memcpy(l->smbfuse_live_buf, l->smbfuse_own_buf, (size_t) res);
    // The channel knows libfuse's buffer in the answer by this (lent reads).
    l->buf = l->smbfuse_live_buf;
  } else if (op == op_readlink) {
    if (res == 0 && l->len > 0) memcpy(l->smbfuse_live_buf, l->smbfuse_own_buf, l->len);
  } else if (op == op_getxattr || op == op_listxattr) {
    if (res > 0 && l->size > 0) memcpy(l->smbfuse_live_buf, l->smbfuse_own_buf, (size_t) res < l->size ? (size_t) res : l->size);
  } else if (op == op_readdir) {
    smbfuse_fill_dir(l, res);
  }
  return res;
}

static void smbfuse_dispatch_js (fuse_thread_locals_t *l) {
  void (*fn)(uv_async_t *, fuse_thread_locals_t *, fuse_thread_t *) = l->op_fn;
  fn(NULL, l, l->fuse);
}

// libfuse's hidden names (fuse.c hidden_name): ".fuse_hidden" and 16 hex digits.
static int smbfuse_is_hidden_name (const char *path) {
  if (path == NULL) return 0;
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  return strncmp(name, ".fuse_hidden", 12) == 0 && strlen(name) == 28;
}

// A new call (number `at`) of the request: ask JavaScript.
static int smbfuse_ask (fuse_thread_locals_t *l, uint32_t at) {
  fuse_thread_t *ft = l->fuse;
  if (!smbfuse_worker_thread && l->op == op_rename && smbfuse_is_hidden_name(l->dest)) {
    // Made on the hidden-name thread instead, from the start of the request.
    l->smbfuse_to_worker = 1;
    return -EAGAIN;
  }
  l->smbfuse_ops[at] = l->op;
  __atomic_store_n(&(l->smbfuse_seq), l->smbfuse_seq + 1, __ATOMIC_SEQ_CST);
  __atomic_store_n(&(l->smbfuse_waiting), 1, __ATOMIC_SEQ_CST);
  l->smbfuse_js = 1;
  if (smbfuse_worker_thread) {
    l->smbfuse_on_worker = 1;
    pthread_mutex_lock(&smbfuse_q_lock);
    l->smbfuse_next = smbfuse_worker_calls;
    smbfuse_worker_calls = l;
    pthread_mutex_unlock(&smbfuse_q_lock);
    uv_async_send(&(ft->smbfuse_worker_async));
    uv_sem_wait(&(l->sem));
    return smbfuse_apply(l, at);
  }
  smbfuse_dispatch_js(l);
  if (!l->smbfuse_js) return smbfuse_apply(l, at);
  if (l->smbfuse_opcode == SMBFUSE_OP_RELEASE || l->smbfuse_opcode == SMBFUSE_OP_RELEASEDIR) {
    // A release cannot be run twice (libfuse counts the node's opens down),
    // and libfuse answers the kernel 0 whatever its calls say: they are not
    // waited for. The call keeps these locals until JavaScript answers it;
    // the rest of the pass (the unlink of a hidden file) gets others.
    l->smbfuse_orphan = 1;
    fuse_thread_locals_t *rest = smbfuse_locals_get(ft);
    if (rest != NULL) {
      rest->smbfuse_unique = l->smbfuse_unique;
      rest->smbfuse_nodeid = l->smbfuse_nodeid;
      rest->smbfuse_opcode = l->smbfuse_opcode;
      rest->smbfuse_at = l->smbfuse_at;
      rest->smbfuse_calls = l->smbfuse_at;
      smbfuse_current = rest;
    }
    return 0;
  }
  l->smbfuse_pending = 1;
  return -EAGAIN;
}

static void smbfuse_wake (fuse_thread_t *ft) {
  if (ft->smbfuse_ended) return;
  uv_idle_start(&(ft->smbfuse_idle), smbfuse_on_idle);
}

// JavaScript answered the call of `l` it was asked (its outputs are in the locals).
static void smbfuse_answered (fuse_thread_locals_t *l) {
  uint32_t at = l->smbfuse_calls;
  if (at < SMBFUSE_CALLS) l->smbfuse_res[at] = l->res;
  l->smbfuse_calls = at + 1;
  l->smbfuse_js = 0;
  __atomic_store_n(&(l->smbfuse_waiting), 0, __ATOMIC_SEQ_CST);
  if (l->smbfuse_on_worker) {
    l->smbfuse_on_worker = 0;
    uv_sem_post(&(l->sem));
  } else if (l->smbfuse_orphan) {
    smbfuse_recycle(l);
  } else if (l->smbfuse_pending) {
    smbfuse_list_push(&smbfuse_ready, l);
    smbfuse_wake(l->fuse);
  }
}

// A readdir answer: JavaScript's Buffers (or arrays) are kept until libfuse's filler is there.
static void smbfuse_keep_dir (napi_env env, fuse_thread_locals_t *l, size_t argc, napi_value *argv) {
  for (uint32_t i = 0; i < l->smbfuse_dir_count; i++) napi_delete_reference(env, l->smbfuse_dir[i]);
  l->smbfuse_dir_count = 0;
  // Names, then stats or meta, then primed stats (references hold objects only: the stamp is kept as it is).
  for (size_t i = 2; i < argc && i < 5; i++) {
    if (napi_create_reference(env, argv[i], 1, &(l->smbfuse_dir[l->smbfuse_dir_count])) != napi_ok) break;
    l->smbfuse_dir_count++;
  }
  l->smbfuse_dir_stamp_ok = argc >= 6 && napi_get_value_int32(env, argv[5], &(l->smbfuse_dir_stamp)) == napi_ok;
}

// readdir's answer in arrays (fuse-native's own form): names, and stats or none.
static void smbfuse_fill_arrays (napi_env env, fuse_thread_locals_t *l, napi_value names, napi_value stats) {
  uint32_t n = 0, m = 0;
  if (napi_get_array_length(env, names, &n) != napi_ok) return;
  if (stats == NULL || napi_get_array_length(env, stats, &m) != napi_ok) m = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    char name[1024];
    size_t len = 0;
    if (napi_get_element(env, names, i, &v) != napi_ok) break;
    if (napi_get_value_string_utf8(env, v, name, sizeof(name), &len) != napi_ok) break;
    struct stat st;
    struct stat *stp = NULL;
    if (m == n) {
      napi_value s;
      uint32_t *ints = NULL;
      size_t ilen = 0;
      if (napi_get_element(env, stats, i, &s) == napi_ok && napi_get_buffer_info(env, s, (void **) &ints, &ilen) == napi_ok && ilen >= 22 * 4) {
        memset(&st, 0, sizeof(st));
        populate_stat(ints, &st);
        stp = &st;
      }
    }
    if (l->readdir_filler((char *) l->buf, name, stp, 0) == 1) break;
  }
}

// Fills libfuse's listing from the answer kept by smbfuse_keep_dir (main thread).
static void smbfuse_fill_dir (fuse_thread_locals_t *l, int32_t res) {
  napi_env env = l->fuse->env;
  if (l->smbfuse_dir_count < 2) return;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value v[3];
  for (uint32_t i = 0; i < l->smbfuse_dir_count; i++) napi_get_reference_value(env, l->smbfuse_dir[i], &v[i]);
  bool packed = false;
  napi_is_buffer(env, v[0], &packed);
  if (packed) {
    smbfuse_fill_packed(env, l, v[0], v[1]);
    if (res == 0 && l->smbfuse_dir_count >= 3 && l->smbfuse_dir_stamp_ok) {
      napi_value stamp;
      napi_create_int32(env, l->smbfuse_dir_stamp, &stamp);
      smbfuse_prime(env, l->path, v[0], v[2], stamp);
    }
  } else {
    smbfuse_fill_arrays(env, l, v[0], v[1]);
  }
  napi_close_handle_scope(env, scope);
}

// The node a LINK request links (fuse_link_in.oldnodeid); 0 for any other request.
static uint64_t smbfuse_link_target (const fuse_thread_locals_t *l) {
  uint64_t old = 0;
  if (l->smbfuse_opcode == SMBFUSE_OP_LINK && l->smbfuse_in_len >= SMBFUSE_IN_HEADER + 8) memcpy(&old, l->smbfuse_head + SMBFUSE_IN_HEADER, 8);
  return old;
}

// Runs request `l` through libfuse (again, if JavaScript answered a call of
// it); 1 if it was answered and is done.
static int smbfuse_process (fuse_thread_locals_t *l) {
  fuse_thread_t *ft = l->fuse;
  if (ft->smbfuse_ended) return 0;
  if (smbfuse_barrier > 0) {
    smbfuse_list_push(&smbfuse_deferred, l);
    return 0;
  }
  l->smbfuse_at = 0;
  l->smbfuse_pending = 0;
  l->smbfuse_held = 0;
  // libfuse changes some requests as it reads them (do_setattr clears FATTR_FH).
  memcpy(l->smbfuse_in, l->smbfuse_head, l->smbfuse_in_len < SMBFUSE_HEAD ? l->smbfuse_in_len : SMBFUSE_HEAD);
  smbfuse_current = l;
  smbfuse_request_nodeid = l->smbfuse_nodeid;
  smbfuse_request_link_old = smbfuse_link_target(l);
  fuse_session_process(fuse_get_session(ft->fuse), l->smbfuse_in, l->smbfuse_in_len, ft->ch);
  if (smbfuse_current != l) {
    // A release whose call JavaScript has not answered: the locals the rest of it had are done.
    fuse_thread_locals_t *rest = smbfuse_current;
    smbfuse_current = NULL;
    if (rest != NULL && !rest->smbfuse_orphan) smbfuse_recycle(rest);
    return 1;
  }
  smbfuse_current = NULL;
  if (l->smbfuse_to_worker) {
    l->smbfuse_to_worker = 0;
    smbfuse_barrier++;
    pthread_mutex_lock(&smbfuse_q_lock);
    l->smbfuse_next = smbfuse_to_worker;
    smbfuse_to_worker = l;
    pthread_cond_signal(&smbfuse_q_cond);
    pthread_mutex_unlock(&smbfuse_q_lock);
    return 0;
  }
  if (l->smbfuse_held) {
    if (smbfuse_held.head == NULL) uv_timer_start(&(ft->smbfuse_hold_timer), smbfuse_on_hold_timer, SMBFUSE_HOLD_MS, 0);
    smbfuse_list_push(&smbfuse_held, l);
    return 0;
  }
  if (l->smbfuse_pending) return 0;
  if (!l->smbfuse_orphan && !l->smbfuse_js) smbfuse_recycle(l);
  return 1;
}

// Whether the answer of the request being run is not to be written now: a
// pass JavaScript has not answered every call of, or one that goes to the
// hidden-name thread; or a short READ answer (`data` bytes) while a READ of
// the same node below it is unanswered (the kernel takes the first short
// answer of a file as its new size), which is held until those are answered
// or SMBFUSE_HOLD_MS passed.
static int smbfuse_hold_answer (smbfuse_chan_state_t *st, uint64_t unique, int32_t error, size_t data) {
  fuse_thread_locals_t *l = smbfuse_current;
  if (l == NULL || unique != l->smbfuse_unique) return 0;
  if (l->smbfuse_pending || l->smbfuse_to_worker) return 1;
  if (error != 0 || smbfuse_worker_thread) return 0;
  int hold = 0;
  pthread_mutex_lock(&st->lock);
  smbfuse_read_t *mine = smbfuse_read_find(st, unique);
  if (mine != NULL && data < mine->size && smbfuse_read_below(st, mine->nodeid, mine->offset)) {
    int64_t now = smbfuse_now_ns();
    if (l->smbfuse_held_since == 0) l->smbfuse_held_since = now;
    hold = now - l->smbfuse_held_since < (int64_t) SMBFUSE_HOLD_MS * 1000000;
  }
  pthread_mutex_unlock(&st->lock);
  if (hold) l->smbfuse_held = 1;
  else l->smbfuse_held_since = 0;
  return hold;
}

// A READ was answered: the held answers try again.
static void smbfuse_release_held (void) {
  if (smbfuse_worker_thread || smbfuse_held.head == NULL) return;
  fuse_thread_locals_t *l;
  while ((l = smbfuse_list_pop(&smbfuse_held)) != NULL) smbfuse_list_push(&smbfuse_ready, l);
  if (smbfuse_ft != NULL) {
    uv_timer_stop(&(smbfuse_ft->smbfuse_hold_timer));
    smbfuse_wake(smbfuse_ft);
  }
}

// Requests JavaScript answered, and those read while the hidden-name thread worked.
static void smbfuse_drain (void) {
  fuse_thread_locals_t *l;
  while (smbfuse_barrier == 0 && (l = smbfuse_list_pop(&smbfuse_deferred)) != NULL) smbfuse_process(l);
  while (smbfuse_barrier == 0 && (l = smbfuse_list_pop(&smbfuse_ready)) != NULL) smbfuse_process(l);
  if (smbfuse_ft != NULL && smbfuse_ready.head == NULL) uv_idle_stop(&(smbfuse_ft->smbfuse_idle));
}

static void smbfuse_on_idle (uv_idle_t *h) {
  (void) h;
  smbfuse_drain();
}

static void smbfuse_on_check (uv_check_t *h) {
  (void) h;
  smbfuse_drain();
}

static void smbfuse_on_hold_timer (uv_timer_t *h) {
  (void) h;
  smbfuse_release_held();
  smbfuse_drain();
}

// The kernel interrupted request `unique`: if JavaScript still owes a call of it, tell JavaScript.
static void smbfuse_interrupt (fuse_thread_t *ft, uint64_t unique) {
  for (fuse_thread_locals_t *l = smbfuse_all; l != NULL; l = l->smbfuse_all_next) {
    if (l->smbfuse_js && l->smbfuse_unique == unique) {
      __atomic_store_n(&(l->smbfuse_intr_seq), __atomic_load_n(&(l->smbfuse_seq), __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
      uv_async_send(&(ft->smbfuse_intr_async));
      return;
    }
  }
}

static void smbfuse_end (fuse_thread_t *ft);

// /dev/fuse has requests: read and run them (main thread).
static void smbfuse_on_readable (uv_poll_t *h, int status, int events) {
  fuse_thread_t *ft = (fuse_thread_t *) h->data;
  (void) events;
  int fd = fuse_chan_fd(ft->ch);
  smbfuse_chan_state_t *st = (smbfuse_chan_state_t *) fuse_chan_data(ft->ch);
  if (status != 0) {
    // POLLERR: the kernel ended the connection (libuv has stopped the poll).
    smbfuse_end(ft);
    return;
  }
  int64_t spin_until = 0;
  int answered = 0;
  for (int n = 0; n < SMBFUSE_BATCH && !ft->smbfuse_ended; n++) {
    fuse_thread_locals_t *l = smbfuse_locals_get(ft);
    if (l == NULL) {
      fprintf(stderr, "smbfuse: no memory for a FUSE request\n");
      break;
    }
    ssize_t r = read(fd, l->smbfuse_in, l->smbfuse_in_cap);
    int err = errno;
    if (r < 0) {
      smbfuse_recycle(l);
      if (err == EAGAIN) {
        // The last request was answered now: its caller's next one is
        // likely microseconds away, and waiting for it here costs less than
        // the loop going to sleep and being woken from another CPU (in a VM
        // a wake-up across CPUs costs tens of microseconds).
        if (!answered || SMBFUSE_SPIN_NS == 0) break;
        int64_t now = smbfuse_now_ns();
        if (spin_until == 0) spin_until = now + SMBFUSE_SPIN_NS;
        if (now >= spin_until) break;
        n--;
        continue;
      }
      if (err == ENOENT || err == EINTR) continue;
      if (err != ENODEV) perror("smbfuse: read from /dev/fuse");
      smbfuse_end(ft);
      return;
    }
    if ((size_t) r < SMBFUSE_IN_HEADER) {
      fprintf(stderr, "smbfuse: a request from /dev/fuse shorter than its header (%zd bytes)\n", r);
      smbfuse_recycle(l);
      continue;
    }
    const char *buf = l->smbfuse_in;
    uint32_t opcode;
    memcpy(&opcode, buf + 4, 4);
    memcpy(&(l->smbfuse_unique), buf + 8, 8);
    memcpy(&(l->smbfuse_nodeid), buf + 16, 8);
    l->smbfuse_opcode = opcode;
    if (opcode == SMBFUSE_OP_INTERRUPT) {
      uint64_t target = 0;
      if ((size_t) r >= SMBFUSE_IN_HEADER + 8) memcpy(&target, buf + SMBFUSE_IN_HEADER, 8);
      smbfuse_recycle(l);
      smbfuse_interrupt(ft, target);
      continue;
    }
    if (opcode == SMBFUSE_OP_INIT && (size_t) r >= SMBFUSE_IN_HEADER + SMBFUSE_INIT_IN_FLAGS + 4) {
      uint32_t flags;
      memcpy(&flags, buf + SMBFUSE_IN_HEADER + SMBFUSE_INIT_IN_FLAGS, 4);
      st->kernel_flags = flags;
      st->init_unique = l->smbfuse_unique;
    }
    if (opcode == SMBFUSE_OP_READ) smbfuse_read_begins(st, buf, (size_t) r);
    l->smbfuse_in_len = (size_t) r;
    memcpy(l->smbfuse_head, buf, (size_t) r < SMBFUSE_HEAD ? (size_t) r : SMBFUSE_HEAD);
    l->smbfuse_held_since = 0;
    // Not after a READ or WRITE: in a stream of them the loop has the server's replies to see to.
    answered = smbfuse_process(l) && opcode != SMBFUSE_OP_READ && opcode != SMBFUSE_OP_WRITE;
    spin_until = 0;
  }
  smbfuse_drain();
}

// Big READ answers from JavaScript's own buffers (lent reads) are written by
// a thread of their own: the copy into the kernel's pages is most of what a
// sequential read costs, and on the main thread it would wait for, and hold
// up, everything else there. The lent buffers stay untouched until the slot
// says SENT; a READ stays in the channel's table until written, so a short
// answer held for those below it waits for the write itself.
#define SMBFUSE_ASIDE_MIN (256 * 1024)
typedef struct smbfuse_aside {
  struct smbfuse_aside *next;
  uint64_t unique;
  uint32_t slot;
  size_t count;
  char head[16];
  struct iovec iov[1 + SMBFUSE_LENT_PIECES];
} smbfuse_aside_t;
static pthread_mutex_t smbfuse_aside_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t smbfuse_aside_cond = PTHREAD_COND_INITIALIZER;
static smbfuse_aside_t *smbfuse_aside_head = NULL, *smbfuse_aside_tail = NULL;
static int smbfuse_aside_ok = 0;
static int smbfuse_aside_written = 0;  // under smbfuse_q_lock: the main thread releases held answers

// Hands a lent READ answer (`iov`, the header first) to the writing thread: 1, or 0 to write it here.
static int smbfuse_send_aside (const struct iovec *iov, size_t count, uint32_t slot, size_t data) {
  if (!smbfuse_aside_ok || smbfuse_worker_thread || data < SMBFUSE_ASIDE_MIN || count > 1 + SMBFUSE_LENT_PIECES || iov[0].iov_len != 16) return 0;
  smbfuse_aside_t *a = malloc(sizeof(smbfuse_aside_t));
  if (a == NULL) return 0;
  a->next = NULL;
  memcpy(a->head, iov[0].iov_base, 16);
  memcpy(&(a->unique), a->head + 8, 8);
  a->slot = slot;
  a->count = count;
  a->iov[0].iov_base = a->head;
  a->iov[0].iov_len = 16;
  for (size_t i = 1; i < count; i++) a->iov[i] = iov[i];
  pthread_mutex_lock(&smbfuse_aside_lock);
  if (smbfuse_aside_tail != NULL) smbfuse_aside_tail->next = a;
  else smbfuse_aside_head = a;
  smbfuse_aside_tail = a;
  pthread_cond_signal(&smbfuse_aside_cond);
  pthread_mutex_unlock(&smbfuse_aside_lock);
  return 1;
}

static void *smbfuse_aside_writer (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  smbfuse_chan_state_t *st = (smbfuse_chan_state_t *) fuse_chan_data(ft->ch);
  for (;;) {
    pthread_mutex_lock(&smbfuse_aside_lock);
    while (smbfuse_aside_head == NULL && smbfuse_aside_ok) pthread_cond_wait(&smbfuse_aside_cond, &smbfuse_aside_lock);
    smbfuse_aside_t *a = smbfuse_aside_head;
    if (a != NULL) {
      smbfuse_aside_head = a->next;
      if (smbfuse_aside_head == NULL) smbfuse_aside_tail = NULL;
    }
    pthread_mutex_unlock(&smbfuse_aside_lock);
    if (a == NULL) break;
    ssize_t n = writev(fuse_chan_fd(ft->ch), a->iov, (int) a->count);
    if (n < 0 && errno != ENOENT && !ft->smbfuse_ended) perror("smbfuse: write to /dev/fuse");
    smbfuse_lent_sent(a->slot);
    smbfuse_read_sent(st, a->unique);
    free(a);
    pthread_mutex_lock(&smbfuse_q_lock);
    smbfuse_aside_written = 1;
    pthread_mutex_unlock(&smbfuse_q_lock);
    uv_async_send(&(ft->smbfuse_worker_async));
  }
  return NULL;
}

// The hidden-name thread: runs the requests handed to it, waiting for JavaScript.
static void *smbfuse_worker (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  smbfuse_worker_thread = 1;
  for (;;) {
    pthread_mutex_lock(&smbfuse_q_lock);
    while (smbfuse_to_worker == NULL && !smbfuse_worker_stop) pthread_cond_wait(&smbfuse_q_cond, &smbfuse_q_lock);
    fuse_thread_locals_t *l = smbfuse_to_worker;
    if (l != NULL) smbfuse_to_worker = l->smbfuse_next;
    pthread_mutex_unlock(&smbfuse_q_lock);
    if (l == NULL) break;
    // From the start: its calls before the hidden rename keep their answers.
    l->smbfuse_at = 0;
    memcpy(l->smbfuse_in, l->smbfuse_head, l->smbfuse_in_len < SMBFUSE_HEAD ? l->smbfuse_in_len : SMBFUSE_HEAD);
    smbfuse_current = l;
    smbfuse_request_nodeid = l->smbfuse_nodeid;
    smbfuse_request_link_old = smbfuse_link_target(l);
    fuse_session_process(fuse_get_session(ft->fuse), l->smbfuse_in, l->smbfuse_in_len, ft->ch);
    smbfuse_current = NULL;
    pthread_mutex_lock(&smbfuse_q_lock);
    l->smbfuse_next = smbfuse_worker_done;
    smbfuse_worker_done = l;
    pthread_mutex_unlock(&smbfuse_q_lock);
    uv_async_send(&(ft->smbfuse_worker_async));
  }
  return NULL;
}

// Main thread: the hidden-name thread's calls for JavaScript and its finished
// requests; answers the writing thread wrote (held answers try again).
static void smbfuse_on_worker (uv_async_t *h) {
  (void) h;
  pthread_mutex_lock(&smbfuse_q_lock);
  fuse_thread_locals_t *calls = smbfuse_worker_calls, *done = smbfuse_worker_done;
  int written = smbfuse_aside_written;
  smbfuse_worker_calls = NULL;
  smbfuse_worker_done = NULL;
  smbfuse_aside_written = 0;
  pthread_mutex_unlock(&smbfuse_q_lock);
  if (written) smbfuse_release_held();
  while (calls != NULL) {
    fuse_thread_locals_t *l = calls;
    calls = l->smbfuse_next;
    smbfuse_dispatch_js(l);
  }
  while (done != NULL) {
    fuse_thread_locals_t *l = done;
    done = l->smbfuse_next;
    smbfuse_barrier--;
    smbfuse_recycle(l);
  }
  smbfuse_drain();
}

// Starts reading /dev/fuse on the main loop (0), or -1.
static int smbfuse_start (fuse_thread_t *ft) {
  uv_loop_t *loop = uv_default_loop();
  int fd = fuse_chan_fd(ft->ch);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  smbfuse_ft = ft;
  ft->smbfuse_poll.data = ft;
  if (uv_poll_init(loop, &(ft->smbfuse_poll), fd) != 0) return -1;
  uv_idle_init(loop, &(ft->smbfuse_idle));
  uv_check_init(loop, &(ft->smbfuse_check));
  uv_timer_init(loop, &(ft->smbfuse_hold_timer));
  uv_async_init(loop, &(ft->smbfuse_worker_async), smbfuse_on_worker);
  uv_unref((uv_handle_t *) &(ft->smbfuse_idle));
  uv_unref((uv_handle_t *) &(ft->smbfuse_check));
  uv_unref((uv_handle_t *) &(ft->smbfuse_hold_timer));
  uv_unref((uv_handle_t *) &(ft->smbfuse_worker_async));
  uv_unref((uv_handle_t *) &(ft->smbfuse_poll));
  uv_check_start(&(ft->smbfuse_check), smbfuse_on_check);
  pthread_t worker;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&worker, &attr, smbfuse_worker, ft) != 0) return -1;
  smbfuse_aside_ok = 1;
  if (pthread_create(&worker, &attr, smbfuse_aside_writer, ft) != 0) smbfuse_aside_ok = 0;
  return uv_poll_start(&(ft->smbfuse_poll), UV_READABLE, smbfuse_on_readable) == 0 ? 0 : -1;
}

// The kernel ended the session (unmounted): what libfuse's loop did after it.
static void smbfuse_end (fuse_thread_t *ft) {
  if (ft->smbfuse_ended) return;
  ft->smbfuse_ended = 1;
  uv_poll_stop(&(ft->smbfuse_poll));
  uv_idle_stop(&(ft->smbfuse_idle));
  uv_check_stop(&(ft->smbfuse_check));
  uv_timer_stop(&(ft->smbfuse_hold_timer));
  pthread_mutex_lock(&smbfuse_aside_lock);
  smbfuse_aside_ok = 0;
  pthread_cond_broadcast(&smbfuse_aside_cond);
  pthread_mutex_unlock(&smbfuse_aside_lock);
  pthread_mutex_lock(&smbfuse_q_lock);
  smbfuse_worker_stop = 1;
  pthread_cond_broadcast(&smbfuse_q_cond);
  pthread_mutex_unlock(&smbfuse_q_lock);
  fuse_session_exit(fuse_get_session(ft->fuse));
  fuse_unmount(ft->mnt, ft->ch);
  // Not while the hidden-name thread is inside libfuse (the process is ending anyway).
  if (smbfuse_barrier > 0) return;
  fuse_session_remove_chan(ft->ch);
  fuse_destroy(ft->fuse);
}
// --- end of smbfuse one thread ---

