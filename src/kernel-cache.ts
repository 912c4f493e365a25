/**
 * Whether the kernel may keep its page cache of a file across opens (FUSE
 * keep_cache, answered by open/create through the patched binding).
 *
 * Without keep_cache the kernel drops a file's pages at every open, so a
 * file read again after close is served by the daemon. With it, reads of
 * cached pages never reach us: that is only honest when those pages hold
 * what the server has now. libfuse2's `kernel_cache` keeps pages always;
 * its `auto_cache` compares mtime and size from a getattr, which answers
 * from an attribute cache up to actimeo old and knows nothing of leases.
 * We decide at open instead, from the CREATE reply of this very open:
 *
 *  - the file's version — file id, last write time, change time and size,
 *    to 100 ns — equals the one recorded at the previous open of the path
 *    (the kernel's pages were read under that version: any change since,
 *    ours or another client's, changes one of these, and then the kernel
 *    drops them and we record the new version);
 *  - and reads may be cached: cache=strict only with a read lease on this
 *    open (a lease break while open cannot reach the kernel's pages — no
 *    notify calls in libfuse2 — but the change shows at the next open);
 *    cache=loose always (its close-to-open check is this version check);
 *    never with cache=none (direct_io: the kernel caches nothing);
 *  - and the version can be trusted. Samba, like Windows, holds back the
 *    last write time of a file another client has open and is writing (it
 *    shows the new time at that client's close or after a delay), so while
 *    such an open exists a changed file can show the old version. Under
 *    cache=strict the version is trusted only when this open was granted a
 *    write-caching lease: the server grants one only when no other client
 *    has the file open. (cache=loose trusts it, as its own cache does.)
 *
 * An open that may not cache forgets the path: pages read during it may be
 * of any version.
 */
import { LRUCache } from 'lru-cache';
import { FileTime } from '../transport/pdu/fscc.js';
import type { SmbStat } from '../transport/types.js';

/** Exact time key: 100-ns FILETIME when known, else milliseconds. */
function timeKey(d: Date): string {
  return d instanceof FileTime ? `${d.filetime}` : `${d.getTime()}ms`;
}

/** The version the kernel's pages of a file are valid for. */
export function pageVersion(st: SmbStat): string {
  return `${st.fileIndex}:${timeKey(st.lastWriteTime)}:${timeKey(st.changeTime)}:${st.size}`;
}

/** Whether two stats agree on what the kernel keeps of a file that can change elsewhere: size and times. */
export function sameAttrs(a: SmbStat, b: SmbStat): boolean {
  return a.size === b.size && timeKey(a.lastWriteTime) === timeKey(b.lastWriteTime) && timeKey(a.changeTime) === timeKey(b.changeTime);
}

export class KernelPageCache {
  /** FUSE path → version at the last open that could cache (bounded: a forgotten path only costs one re-read). */
  private readonly seen: LRUCache<string, string>;

  constructor(max = 8192) {
    this.seen = new LRUCache<string, string>({ max });
  }

  /**
   * At open of `path` (stat from this open's CREATE reply): may the kernel
   * keep the pages it has? `mayCache`: this open may cache reads;
   * `trusted`: the reply's version cannot hide another client's writes
   * (see above). The version is recorded either way.
   */
  keep(path: string, st: SmbStat, mayCache: boolean, trusted = true): boolean {
    if (!mayCache || st.isDirectory) {
      this.seen.delete(path);
      return false;
    }
    const v = pageVersion(st);
    const same = this.seen.get(path) === v;
    this.seen.set(path, v);
    return same && trusted;
  }

  /** Whether the kernel may hold pages of `path` from an earlier open (its version was recorded). */
  holds(path: string): boolean {
    return this.seen.has(path);
  }

  /** The file changed in a way no version shows (see OpenWatch): no open may keep its pages. */
  forget(path: string): void {
    this.seen.delete(path);
  }

}
