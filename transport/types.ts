/**
 * Public value types of the SMB client, shared by the transport and its users.
 * Paths here are share-relative SMB paths: components joined by '\', no
 * leading separator ('' is the share root).
 */
import type { BvecqPos } from '../netfs/bvecq.js';

/** Dialect revision numbers as in MS-SMB2 2.2.3. */
export const Dialect = {
  SMB2_0_2: 0x0202,
  SMB2_1: 0x0210,
  SMB3_0: 0x0300,
  SMB3_0_2: 0x0302,
  SMB3_1_1: 0x0311,
} as const;
export type Dialect = (typeof Dialect)[keyof typeof Dialect];

export interface SmbConnectOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  domain: string;
  /** Authenticate as guest (anonymous NTLM / guest account) on purpose. */
  guest: boolean;
  /** Lowest and highest dialect to offer (default: all five). */
  minDialect?: Dialect;
  maxDialect?: Dialect;
  /** Milliseconds before a connect or a request without reply fails. */
  timeoutMs?: number;
  /** Probe an idle connection with ECHO after this many ms (default 60000; 0: never). */
  echoIntervalMs?: number;
}

/** Attributes of one file or directory as the server reports them. */
export interface SmbStat {
  /** Server's file index number (FileId / IndexNumber), 0n if unknown. */
  fileIndex: bigint;
  size: number;
  allocationSize: number;
  /** FILE_ATTRIBUTE_* bits (MS-FSCC 2.6). */
  attributes: number;
  isDirectory: boolean;
  creationTime: Date;
  lastAccessTime: Date;
  lastWriteTime: Date;
  changeTime: Date;
  nlink: number;
}

export interface SmbDirEntry extends SmbStat {
  name: string;
}

export interface SmbFsStat {
  /** Bytes per allocation unit. */
  blockSize: number;
  totalBlocks: number;
  freeBlocks: number;
  availBlocks: number;
}

/** An open handle on the server. */
export interface SmbOpen {
  fileId: Buffer;
  stat: SmbStat;
}

/** A connected share (tree). All methods reject with an SmbError. */
export interface SmbTree {
  /** Largest READ payload the server accepts (negotiated MaxReadSize). */
  readonly maxReadSize: number;
  /** Stat one path in one round trip (CREATE+QUERY_INFO+CLOSE compound). */
  stat(path: string): Promise<SmbStat>;
  /** Open for reading (files) or listing (directories). */
  open(path: string, opts?: { directory?: boolean }): Promise<SmbOpen>;
  close(fileId: Buffer): Promise<void>;
  /**
   * READ `length` bytes at `offset`, decanting the payload straight into
   * `dest` (advancing it). Resolves to the bytes read: fewer than asked at
   * end of file, 0 at or past it.
   */
  read(fileId: Buffer, offset: number, length: number, dest: BvecqPos): Promise<number>;
  /** Every entry of an open directory (without '.' and '..'). */
  listDirectory(fileId: Buffer): Promise<SmbDirEntry[]>;
  statfs(): Promise<SmbFsStat>;
  disconnect(): Promise<void>;
}
