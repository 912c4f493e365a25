/**
 * libfuse's option string for an smbfuse mount. fuse-native builds libfuse's
 * `-o a,b,c` argument in its (internal) method `_fuseOptions()` from a fixed
 * list of `opts` fields, and has no field for `big_writes`, `ro`,
 * `negative_timeout`, ...; fuse-binding.ts subclasses Fuse and overrides that
 * one method to append the options built here.
 */

/** Escape a value for libfuse's option parser (',' and '\' are special). */
function escapeOpt(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

/**
 * Append `extra` options to the `-o…` string fuse-native built (which may be
 * ''), skipping any already present.
 */
export function fuseOptionString(base: string, extra: readonly string[]): string {
  const have = base.startsWith('-o') ? base.slice(2).split(',').filter((s) => s !== '') : [];
  for (const e of extra) if (!have.includes(e)) have.push(e);
  const out = have.length ? '-o' + have.join(',') : '';
  // fuse-native.c copies the string into a 1024-byte buffer.
  if (Buffer.byteLength(out) > 1023) throw new Error('FUSE option string too long');
  return out;
}

/**
 * The extra libfuse options for an smbfuse mount: `ro` for read-only mounts;
 * big writes (FUSE writes of up to max_write instead of 4 KiB); sync_read
 * unless the binding orders short reads; with cache=none no
 * kernel page cache either (direct_io). Otherwise whether the kernel keeps
 * its pages of a file at an open is decided per open (keep_cache,
 * kernel-cache.ts) from that open's CREATE reply; not libfuse's auto_cache,
 * which compares against attributes up to actimeo old and would keep stale
 * pages after another client's change, breaking close-to-open.
 *
 * Link counts: `use_ino` reports our st_ino (the server's file id, so hard
 * links share one number). No `hard_remove`: with it libfuse2 cannot serve
 * fstat(2) of an unlinked open file (the kernel asks by inode without a file
 * handle, libfuse needs a path), so libfuse keeps renaming such files to
 * `.fuse_hidden…`, and we keep those names out of listings (hidden-names.ts).
 *
 * Access: without `allow_other` the kernel lets only the mounting user in
 * (everyone else gets EACCES, whatever the modes say). With it, others are
 * let in and `default_permissions` has the kernel check every access against
 * the attributes we report (uid=, gid=, file_mode=, dir_mode=) like a local
 * file system. As root, allow_other needs no `user_allow_other` in
 * /etc/fuse.conf (that only limits fusermount for other users).
 *
 * `auto_unmount` (unless noauto_unmount): libfuse2 then mounts through
 * fusermount, which stays behind and unmounts as soon as the daemon dies, so
 * a killed daemon leaves a plain directory, not an ENOTCONN mount point. The
 * price: fusermount always sets nosuid,nodev (libfuse hands it only the
 * flags that are on), so `suid` and `dev` need noauto_unmount.
 */
export function extraFuseOptions(o: {
  unc: string; allowOther: boolean; actimeoMs: number; readOnly?: boolean; cache?: string; kernelFlags?: readonly string[]; autoUnmount?: boolean;
  /** The binding holds a short READ answer until those below it in the file are sent (patch 10 on). */
  ordersShortReads?: boolean;
}): string[] {
  const secs = String(o.actimeoMs / 1000);
  const out = [
    ...(o.readOnly ? ['ro'] : []),
    'big_writes',
    // Reads in flight together past the end of a file another client shrank
    // (the kernel still holds the old size): an empty answer that reached the
    // kernel before the one holding the end set the size there, and readers
    // got zeros (test/e2e/shrunk-elsewhere). The patched binding sends short
    // answers in file order; without it, the kernel reads one at a time.
    ...(o.ordersShortReads ? [] : ['sync_read']),
    'max_write=1048576',
    `fsname=${escapeOpt(o.unc)}`,
    'subtype=smbfuse',
    ...(o.cache === 'none' ? ['direct_io'] : []),
    `entry_timeout=${secs}`,
    `attr_timeout=${secs}`,
    `negative_timeout=${secs}`,
    'use_ino',
    ...(o.autoUnmount ? ['auto_unmount'] : []),
  ];
  if (o.allowOther) out.push('default_permissions');
  // Generic mount flags (nosuid, noexec, ...) in the order given: libfuse applies them, the last one wins.
  out.push(...(o.kernelFlags ?? []));
  return out;
}
