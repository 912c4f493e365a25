/**
 * The tree operations the read-write filesystem uses, as the transport's
 * SmbTree provides them (the contract agreed with transport/), and an adapter
 * that fills in any the connected tree does not have yet.
 *
 * The adapter keeps smbfuse usable while the transport grows: a missing
 * `create` falls back to the read-only `open` for plain read opens, and every
 * other missing method rejects with ENOSYS, so a change the transport cannot
 * make yet fails cleanly with an errno instead of crashing the daemon.
 */
import type { SmbOpen, SmbStat, SmbTree } from '../transport/types.js';
import { ENOSYS } from './errno.js';

export type CreateAccess = 'read' | 'write' | 'readwrite';
export type CreateDisposition = 'open' | 'create' | 'open_if' | 'overwrite' | 'overwrite_if';

export interface CreateOptions {
  access: CreateAccess;
  disposition: CreateDisposition;
  directory?: boolean;
  nonDirectory?: boolean;
  /** FILE_ATTRIBUTE_* for a new file. */
  attributes?: number;
  /** Ask for a read/handle/write lease (2.1+; an oplock on 2.0.2). */
  lease?: boolean;
}

/** Lease state bits (MS-SMB2 2.2.13.2.8). */
export const LEASE_R = 1;
export const LEASE_H = 2;
export const LEASE_W = 4;

export interface CreateResult extends SmbOpen {
  /** FILE_SUPERSEDED 0, FILE_OPENED 1, FILE_CREATED 2, FILE_OVERWRITTEN 3. */
  createAction: number;
  leaseKey: Buffer | null;
  /** LEASE_R | LEASE_H | LEASE_W granted (0: none). */
  leaseState: number;
}

/** Times and attributes for SET_INFO FileBasicInformation; absent = unchanged. */
export interface SmbTimes {
  creationTime?: Date;
  lastAccessTime?: Date;
  lastWriteTime?: Date;
  changeTime?: Date;
  attributes?: number;
}

/** A lease or oplock break from the server. */
export interface BreakEvent {
  leaseKey: Buffer | null;
  fileId: Buffer | null;
  newState: number;
  ackRequired: boolean;
}

/** Read-write methods of SmbTree. */
export interface RwTreeOps {
  readonly maxWriteSize: number;
  create(path: string, opts: CreateOptions): Promise<CreateResult>;
  /** WRITE `data` (slices sent without copying) at `offset`; resolves to bytes written. */
  write(fileId: Buffer, offset: number, data: Buffer[]): Promise<number>;
  flush(fileId: Buffer): Promise<void>;
  statHandle(fileId: Buffer): Promise<SmbStat>;
  setEndOfFile(fileId: Buffer, size: number): Promise<void>;
  setTimes(fileId: Buffer, times: SmbTimes): Promise<void>;
  renameHandle(fileId: Buffer, newPath: string, replace: boolean): Promise<void>;
  setDeleteOnClose(fileId: Buffer, on: boolean): Promise<void>;
  truncatePath(path: string, size: number): Promise<void>;
  setTimesPath(path: string, times: SmbTimes): Promise<void>;
  setAttributesPath(path: string, attributes: number): Promise<void>;
  renamePath(from: string, to: string, replace: boolean): Promise<void>;
  unlinkPath(path: string): Promise<void>;
  rmdirPath(path: string): Promise<void>;
  mkdirPath(path: string): Promise<void>;
  linkPath(existing: string, newPath: string): Promise<void>;
  getEas(path: string): Promise<Array<{ name: string; value: Buffer }>>;
  setEa(path: string, name: string, value: Buffer | null): Promise<void>;
  /** Register the break handler; the ack goes out once `cb` resolves. */
  onBreak(cb: (ev: BreakEvent) => Promise<void>): void;
}

/** The read side the filesystem has used since the read-only mount. */
export type ReadTree = Pick<SmbTree, 'stat' | 'open' | 'close' | 'read' | 'listDirectory' | 'statfs' | 'maxReadSize'>;

/** Everything the filesystem uses. */
export type FsTree = ReadTree & RwTreeOps;

const RW_METHODS = [
  'create', 'write', 'flush', 'statHandle', 'setEndOfFile', 'setTimes', 'renameHandle', 'setDeleteOnClose',
  'truncatePath', 'setTimesPath', 'setAttributesPath', 'renamePath', 'unlinkPath', 'rmdirPath', 'mkdirPath',
  'linkPath', 'getEas', 'setEa', 'onBreak',
] as const;

/**
 * `tree` as a full FsTree: its own methods where it has them; otherwise
 * `create` for plain read opens through `open`, `onBreak` a no-op,
 * `maxWriteSize` 64 KiB, and the rest rejecting with ENOSYS.
 */
export function adaptTree(tree: ReadTree & Partial<RwTreeOps>): FsTree {
  if (RW_METHODS.every((m) => typeof tree[m] === 'function') && typeof tree.maxWriteSize === 'number') {
    return tree as FsTree;
  }
  const fill: Partial<Record<string, unknown>> = {};
  for (const m of RW_METHODS) {
    if (typeof tree[m] !== 'function') fill[m] = () => Promise.reject(-ENOSYS);
  }
  if (typeof tree.create !== 'function') {
    fill['create'] = async (path: string, o: CreateOptions): Promise<CreateResult> => {
      if (o.access !== 'read' || o.disposition !== 'open') throw -ENOSYS;
      const r = await tree.open(path, o.directory ? { directory: true } : undefined);
      return { ...r, createAction: 1, leaseKey: null, leaseState: 0 };
    };
  }
  if (typeof tree.onBreak !== 'function') fill['onBreak'] = () => {};
  return new Proxy(tree, {
    get(target, prop, receiver) {
      if (prop === 'maxWriteSize' && typeof target.maxWriteSize !== 'number') return 65536;
      if (typeof prop === 'string' && prop in fill) return fill[prop];
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as FsTree;
}
