/**
 * netfs public surface: the chain type, the page cache, the per-file read
 * and write context and the contract a filesystem implements. Nothing here knows SMB.
 */
export { Bvecq, BvecqPos, BvecqSegment, BVECQ_MAX_SLOTS } from './bvecq.js';
export type { NetfsCacheOps, NetfsReadSource, NetfsCallerGone, NetfsLent, NetfsReadOps, NetfsReadSubrequestView, NetfsWriteOps, NetfsWriteSubrequestView } from './ops.js';
export { PageCache, Folio, DEFAULT_FOLIO_SIZE } from './page-cache.js';
export type { PageCacheOptions, PageCacheStats, FolioState, FolioHome, WritebackFolio } from './page-cache.js';
export {
  NetfsInode,
  DEFAULT_READAHEAD_MAX,
  READAHEAD_INITIAL,
  DEFAULT_DIRTY_THRESHOLD,
  DEFAULT_DIRTY_EXPIRE_MS,
} from './inode.js';
export type { NetfsInodeOptions, NetfsWritebackReason } from './inode.js';
export { NetfsError, NETFS_EIO, NETFS_EINVAL } from './errors.js';
export type { NetfsOrigin } from './request.js';
export { NETFS_MAX_RETRIES } from './request.js';
export { NETFS_TRACE_CHANNEL } from './trace.js';
export type { NetfsTraceEvent, NetfsSreqTraceEvent, NetfsRreqTraceEvent, NetfsSreqTrace, NetfsRreqTrace } from './trace.js';
