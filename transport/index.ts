/** Public surface of the SMB transport. */
export { connect, SmbClient } from './client.js';
export type { SmbClientStats } from './client.js';
export { smbTraceChannel, smbFaultChannel, describeOutcome } from './stats.js';
export type { SmbTraceEvent, SmbStatsSnapshot, SmbCommandStats } from './stats.js';
export type { Tree } from './tree.js';
export * from './types.js';
export * from './errors.js';
