/**
 * The engine's cache hooks (NetfsCacheOps) for one open file, over a cache
 * object of fscache-store.ts: prepareRead chooses the cache for the bytes
 * whose extents are present and the server for the rest (up to the next
 * present extent, on extent boundaries, so what comes back can be cached
 * whole); `read` reads the data file; `write` takes stream 1's copies of
 * server data into the write-behind queue.
 *
 * Writeback also sends stream 1 here: those bytes are not cached, their
 * extents are invalidated instead. A cached extent must hold the server's
 * bytes of the version the map names; bytes not yet (or never) accepted by
 * the server would be served after a crash or a failed write otherwise.
 *
 * invalidate(0, Infinity) comes from netfs whenever the page cache drops a
 * file (a last close under cache=strict, a lost lease, a version change at
 * open): it suspends this open file's use of the cache without discarding
 * the persistent data, whose validity is decided by the version at the next
 * open (rebind). A partial invalidation (truncate, unbuffered write) drops
 * the extents it covers.
 */
import type { BvecqPos } from './bvecq.js';
import type { FscacheObject } from './fscache-store.js';
import type { NetfsCacheOps, NetfsReadOps, NetfsReadSource, NetfsReadSubrequestView, NetfsWriteOps, NetfsWriteSubrequestView } from './ops.js';

/** Largest cache read or copy subrequest. */
const FSCACHE_IO_MAX = 4 * 1024 * 1024;

/** Writeback subrequests carry the write direction's debug id ("W=…"); read copies "R=…". */
function fromWriteback(v: { debugId: string }): boolean {
  return v.debugId.startsWith('W=');
}

export class FscacheFileOps implements NetfsCacheOps {
  /** No cache reads or copies until the next rebind (see above). */
  private suspended = false;
  readonly read: NetfsReadOps;
  readonly write: NetfsWriteOps;

  constructor(
    /** The object for the version seen at open; replaced by rebind(). */
    public obj: FscacheObject,
  ) {
    this.read = { maxReadSize: () => FSCACHE_IO_MAX, issueRead: (sr) => this.readFromCache(sr) };
    this.write = { maxWriteSize: () => FSCACHE_IO_MAX, issueWrite: (sw) => this.writeToCache(sw) };
  }

  /** The file was opened again with `obj` (this or another version): use it. */
  rebind(obj: FscacheObject): void {
    if (obj !== this.obj) this.obj.release();
    this.obj = obj;
    this.suspended = false;
  }

  prepareRead(start: number, len: number): { source: NetfsReadSource; len: number } {
    const obj = this.obj;
    if (this.suspended) {
      obj.store.counters.bytesFromServer += len;
      return { source: 'server', len };
    }
    const run = obj.presentRun(start, len);
    if (run > 0) return { source: 'cache', len: run };
    const n = obj.serverSpan(start, len);
    obj.store.counters.bytesFromServer += n;
    return { source: 'server', len: n };
  }

  /** Present bytes from the data file; a failure or a short read is continued from the server by netfs. */
  private readFromCache(sr: NetfsReadSubrequestView): void {
    const obj = this.obj;
    const run = this.suspended ? 0 : obj.pinRun(sr.start, sr.len);
    if (run === 0) return sr.complete({ transferred: 0, error: -5 });
    obj.readInto(sr.dest.clone().slices(run), sr.start).then(
      (n) => {
        obj.unpin();
        if (n !== run) {
          obj.invalidate(sr.start, sr.start + run);
          return sr.complete({ transferred: 0, error: -5 });
        }
        obj.store.counters.bytesFromCache += n;
        sr.complete({ transferred: n });
      },
      () => {
        obj.unpin();
        obj.invalidate(sr.start, sr.start + run);
        sr.complete({ transferred: 0, error: -5 });
      },
    );
  }

  /** Stream 1: a copy of server data is queued (copied out now, written behind); writeback invalidates. */
  private writeToCache(sw: NetfsWriteSubrequestView): void {
    const obj = this.obj;
    if (fromWriteback(sw)) {
      obj.invalidate(sw.start, sw.start + sw.len);
    } else if (!this.suspended) {
      obj.offer(sw.start, sw.len, sw.source as BvecqPos, obj.gen);
    }
    sw.complete({ transferred: sw.len });
  }

  /** Behind while this file's map is still being read (nothing counts as present yet), or while the store's queue is. */
  behind(): Promise<void> | null {
    return this.suspended ? null : this.obj.binding ?? this.obj.store.behind();
  }

  invalidate(from: number, to: number): void {
    if (from <= 0 && to === Infinity) {
      this.suspended = true;
      return;
    }
    this.obj.invalidate(from, Math.min(to, Number.MAX_SAFE_INTEGER));
  }
}
