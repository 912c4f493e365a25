/**
 * Cache-backed reads for one file: read and write ops that sit between netfs
 * and the filesystem's own ops (the second stream of the design). Each read
 * subrequest is served from the data file when its first extents are
 * present there, and otherwise from the server for the bytes up to the next
 * present extent; what is left comes back to issueRead as netfs's follow-up
 * for a short read, so a request splits between the two sources by itself.
 * Server data is offered to the cache before the subrequest completes (the
 * cache copies it and writes it behind). A write invalidates the extents it
 * touches before it goes to the server.
 */
import type { FscacheObject } from './fscache-store.js';
import type { NetfsReadOps, NetfsReadSubrequestView, NetfsWriteOps, NetfsWriteSubrequestView } from './ops.js';

export class FscacheOps implements NetfsReadOps, NetfsWriteOps {
  constructor(
    private readonly inner: NetfsReadOps & NetfsWriteOps,
    /** Swapped when the file is revalidated to a new version. */
    public obj: FscacheObject,
  ) {}

  maxReadSize(): number {
    return this.inner.maxReadSize();
  }

  maxWriteSize(): number {
    return this.inner.maxWriteSize();
  }

  issueRead(sr: NetfsReadSubrequestView): void {
    const obj = this.obj;
    const run = obj.pinRun(sr.start, sr.len);
    if (run === 0) return this.fromServer(sr);
    const bufs = sr.dest.clone().slices(run);
    obj.readInto(bufs, sr.start).then(
      (n) => {
        obj.unpin();
        if (n !== run) return this.diskFailed(sr, run);
        obj.store.counters.bytesFromCache += n;
        sr.complete({ transferred: n });
      },
      () => {
        obj.unpin();
        this.diskFailed(sr, run);
      },
    );
  }

  /** The data file did not give the bytes back: forget them and ask the server. */
  private diskFailed(sr: NetfsReadSubrequestView, run: number): void {
    this.obj.invalidate(sr.start, sr.start + run);
    this.fromServer(sr);
  }

  private fromServer(sr: NetfsReadSubrequestView): void {
    const obj = this.obj;
    const len = obj.serverSpan(sr.start, sr.len);
    const gen = obj.gen;
    const at = sr.dest.clone();
    this.inner.issueRead({
      debugId: sr.debugId,
      start: sr.start,
      len,
      dest: sr.dest,
      complete(r) {
        const n = r.transferred;
        if (!r.error && Number.isSafeInteger(n) && n > 0 && n <= len) {
          obj.store.counters.bytesFromServer += n;
          obj.offer(sr.start, n, at, gen);
        }
        sr.complete(r);
      },
    });
  }

  issueWrite(sw: NetfsWriteSubrequestView): void {
    this.obj.invalidate(sw.start, sw.start + sw.len);
    this.inner.issueWrite(sw);
  }

  /** The file's size changed here (truncate, extend): what lies past `from` is no longer the file's. */
  sizeChanged(from: number): void {
    this.obj.invalidate(from, Number.MAX_SAFE_INTEGER);
  }
}
