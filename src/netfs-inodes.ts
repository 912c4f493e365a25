/**
 * The real InodeFactory: one shared page cache (cache_size bytes) and a
 * netfs inode per file, with readahead up to `readahead` bytes, reading and
 * writing through the SMB ops, and through the disk cache's hooks with -o fsc.
 */
import { NetfsInode, PageCache } from '../netfs/index.js';
import type { NetfsCacheOps } from '../netfs/ops.js';
import type { FsFileInfo, FsInode, InodeFactory } from './fs-inode.js';

export function netfsInodeFactory(
  o: { cacheSize: number; readahead: number },
  cache = new PageCache({ maxBytes: o.cacheSize }),
  /** The local disk cache's hooks for a file (-o fsc), and how to rebind them when the file's version changes. */
  fscacheFor?: (file: FsFileInfo) => { ops: NetfsCacheOps; revalidate(file: FsFileInfo): void },
): InodeFactory {
  return (key, size, ops, file) => {
    const fsc = file && fscacheFor?.(file);
    const inode: FsInode = new NetfsInode({ key, size, ops, cache, readaheadMax: o.readahead, writeOps: ops, ...(fsc ? { fscache: fsc.ops } : {}) });
    if (fsc) inode.revalidate = (f) => fsc.revalidate(f);
    return inode;
  };
}
