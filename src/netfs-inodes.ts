/**
 * The real InodeFactory: one shared page cache (cache_size bytes) and a
 * netfs inode per file, with readahead up to `readahead` bytes. The inode
 * gets the SMB write ops; if this netfs has no write path yet it is wrapped
 * in WriteThroughInode.
 */
import { NetfsInode, PageCache, type NetfsInodeOptions } from '../netfs/index.js';
import { hasWritePath, WriteThroughInode, type InodeFactory } from './fs-inode.js';

export function netfsInodeFactory(o: { cacheSize: number; readahead: number }): InodeFactory {
  const cache = new PageCache({ maxBytes: o.cacheSize });
  return (key, size, ops) => {
    const opts: NetfsInodeOptions & { writeOps?: unknown } = { key, size, ops, cache, readaheadMax: o.readahead, writeOps: ops };
    const inode = new NetfsInode(opts);
    return hasWritePath(inode) ? inode : new WriteThroughInode(inode, ops);
  };
}
