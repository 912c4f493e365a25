/**
 * The open files' slots by FUSE path, indexed by parent directory as well:
 * a readdir (deferred names, children to settle) or rmdir asks for the
 * children of one directory, and a scan of every open file there made each
 * listing cost as much as the files held open (dbench keeps hundreds parked
 * within closetimeo).
 */
import { fuseParent } from './path-map.js';

const NONE = new Map<string, never>();

export class OpenSlots<T> {
  private readonly byPath = new Map<string, T>();
  private readonly byParent = new Map<string, Map<string, T>>();

  get size(): number {
    return this.byPath.size;
  }

  get(path: string): T | undefined {
    return this.byPath.get(path);
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  set(path: string, slot: T): this {
    this.byPath.set(path, slot);
    const dir = fuseParent(path);
    let kids = this.byParent.get(dir);
    if (!kids) this.byParent.set(dir, (kids = new Map()));
    kids.set(path, slot);
    return this;
  }

  delete(path: string): boolean {
    if (!this.byPath.delete(path)) return false;
    const dir = fuseParent(path);
    const kids = this.byParent.get(dir);
    kids?.delete(path);
    if (kids?.size === 0) this.byParent.delete(dir);
    return true;
  }

  /** [path, slot] of the open files directly in `dir`. */
  childrenOf(dir: string): IterableIterator<[string, T]> {
    return (this.byParent.get(dir) ?? NONE).entries();
  }

  values(): IterableIterator<T> {
    return this.byPath.values();
  }

  [Symbol.iterator](): IterableIterator<[string, T]> {
    return this.byPath.entries();
  }
}
