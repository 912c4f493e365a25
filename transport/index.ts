/** Public surface of the SMB transport. */
export { connect, SmbClient } from './client.js';
export type { Tree } from './tree.js';
export * from './types.js';
export * from './errors.js';
