/**
 * The real InodeFactory: one shared page cache (cache_size bytes) and a
 * netfs inode per file, with readahead up to `readahead` bytes, reading and
 * writing through the SMB ops.
 */
import { NetfsInode, PageCache } from '../netfs/index.js';
import type { InodeFactory } from './fs-inode.js';

export function netfsInodeFactory(o: { cacheSize: number; readahead: number }, cache = new PageCache({ maxBytes: o.cacheSize })): InodeFactory {
  return (key, size, ops) => new NetfsInode({ key, size, ops, cache, readaheadMax: o.readahead, writeOps: ops });
}
