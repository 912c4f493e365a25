/**
 * Public value types of the SMB client, shared by the transport and its users.
 * Paths here are share-relative SMB paths: components joined by '\', no
 * leading separator ('' is the share root).
 */
import type { BvecqPos } from '../netfs/bvecq.js';
import type { OpenWatch } from './durable.js';

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
  /**
   * `sign` (mount.cifs): sign every request and verify every reply even when
   * the server does not require signing; a session that cannot sign fails.
   */
  sign?: boolean;
  /**
   * 3.1.1 SMB2_SIGNING_CAPABILITIES to offer, in order of preference
   * (SigningAlgorithmId values; default GMAC, CMAC, HMAC-SHA256).
   */
  signingAlgorithms?: number[];
  /**
   * `seal` (mount.cifs): encrypt every message after SESSION_SETUP (SMB 3.x);
   * a server, dialect or session that cannot encrypt fails the connect.
   */
  seal?: boolean;
  /** Milliseconds before a connect or a request without reply fails. */
  timeoutMs?: number;
  /** Probe an idle connection with ECHO after this many ms (default 60000; 0: never). */
  echoIntervalMs?: number;
  /** Told as each step of connecting starts (`TCP`, then the SMB2 command awaited), for progress messages. */
  onStep?: (step: 'TCP' | 'NEGOTIATE' | 'SESSION_SETUP') => void;
  /**
   * Survive a lost connection: reconnect with backoff, set the session and
   * trees up again, reopen durable handles and resend what may be resent.
   * `softTimeoutMs` 0 is hard (calls wait for the server); more is soft (a
   * call fails after that long). Absent: a lost connection stays lost.
   */
  reconnect?: { softTimeoutMs: number };
}

/** Attributes of one file or directory as the server reports them (times are FileTimes: exact to 100 ns). */
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
  /** NumberOfLinks; 0 where the reply carries none (CREATE, directory entries). */
  nlink: number;
  /**
   * POSIX mode bits from the security descriptor (mode-sid.ts): null when
   * asked for and it has no DACL (or may not be read); absent when not asked for.
   */
  mode?: number | null;
  /**
   * The most access this session has to the file or directory (FILE_*
   * rights, the MxAc create context), where the CREATE that brought this
   * stat asked for it (a listing's, a mkdir's) and the server said.
   */
  maximalAccess?: number;
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

/** How to open or create a file or directory (SmbTree.create). */
export interface SmbCreateOptions {
  /**
   * 'read': FILE_READ_DATA|FILE_READ_ATTRIBUTES|FILE_READ_EA|SYNCHRONIZE;
   * 'write': FILE_WRITE_DATA|FILE_APPEND_DATA|FILE_WRITE_ATTRIBUTES|FILE_WRITE_EA
   * (+ FILE_READ_ATTRIBUTES|SYNCHRONIZE); 'readwrite': both.
   */
  access: 'read' | 'write' | 'readwrite';
  disposition: 'open' | 'create' | 'open_if' | 'overwrite' | 'overwrite_if';
  /** FILE_DIRECTORY_FILE: must be (or create) a directory. */
  directory?: boolean;
  /** FILE_NON_DIRECTORY_FILE: must not be a directory. */
  nonDirectory?: boolean;
  /** FileAttributes for a new file (FILE_ATTRIBUTE_*; 0 = server default). */
  attributes?: number;
  /**
   * Ask for read/handle/write caching: a RWH lease on 2.1+ (lease context v1
   * on 2.1, v2 on 3.x), a batch oplock on 2.0.2.
   */
  lease?: boolean;
  /**
   * Lease key to use. Default: the key of a lease this tree holds on the
   * same path (so our own opens do not break each other), else a new one.
   */
  leaseKey?: Buffer;
  /** Add DELETE access, needed by renameHandle and setDeleteOnClose. */
  delete?: boolean;
  /**
   * Also READ up to this many bytes from offset 0 in the same compound
   * (at most 64 KiB): a small file opened to be read costs one round trip.
   */
  readFirst?: number;
}

/** Largest SmbCreateOptions.readFirst: one credit's worth, so the compound needs no large-MTU charge. */
export const READ_FIRST_MAX = 64 * 1024;

/** An open from SmbTree.create. */
export type SmbOpenResult = SmbOpen & {
  /** CreateAction: 0 superseded, 1 opened, 2 created, 3 overwritten. */
  createAction: number;
  /** The granted lease's key, null when no lease was granted (oplock or none). */
  leaseKey: Buffer | null;
  /** Granted caching, bits R=1 H=2 W=4 (from the lease, or mapped from the oplock level). */
  leaseState: number;
  /** With `readFirst`: the bytes from offset 0 (fewer at the end of the file), or null if the READ failed. */
  data?: Buffer | null;
};

/** What SmbTree.createWriteClose did. */
export interface SmbWrittenFile {
  /** CreateAction: 0 superseded, 1 opened, 2 created, 3 overwritten. */
  createAction: number;
  /** Bytes the server took (its Count; at most what was sent). */
  written: number;
  /** Attributes at the CLOSE (file id from the CREATE, no link count), null if the server gave none. */
  stat: SmbStat | null;
}

/** Times and attributes for SET_INFO FileBasicInformation; unset, null and attributes 0 leave a field unchanged. */
export interface SmbTimes {
  creationTime?: Date | null;
  lastAccessTime?: Date | null;
  lastWriteTime?: Date | null;
  changeTime?: Date | null;
  attributes?: number;
}

/** Lease state bits (MS-SMB2 2.2.13.2.8): read, handle and write caching. */
export const LEASE_R = 1;
export const LEASE_H = 2;
export const LEASE_W = 4;

/** A server break of a lease (2.1+) or oplock (2.0.2). */
export interface SmbBreakEvent {
  /** The lease's key (lease break), or null for an oplock break. */
  leaseKey: Buffer | null;
  /** The handle (oplock break), or null for a lease break. */
  fileId: Buffer | null;
  /** Caching allowed after the break: bits R=1, H=2, W=4. */
  newState: number;
  /** The server waits for an acknowledgment (sent after the callback resolves). */
  ackRequired: boolean;
}

/** Set once the caller has stopped waiting (its FUSE call was answered): work it started should stop. */
export interface CallerGone {
  readonly aborted: boolean;
}

/** A connected share (tree), read and write. All methods reject with an SmbError. */
export interface SmbTree {
  /**
   * The most access this session has on the share (TREE_CONNECT's
   * MaximalAccess, FILE_* rights as on its root): without FILE_ADD_FILE no
   * file can be created anywhere in it (a read-only share).
   */
  readonly shareAccess: number;
  /** Largest READ payload the server accepts (negotiated MaxReadSize). */
  readonly maxReadSize: number;
  /**
   * Bytes one READ or WRITE can carry right now without waiting for credits.
   * A server may keep the client short; sizing transfers to this keeps them moving.
   */
  readonly transferBudget: number;
  /**
   * Stat one path in one round trip (CREATE+QUERY_INFO+CLOSE compound); with
   * `mode` the DACL is queried in the same compound and `mode` filled in.
   */
  stat(path: string, opts?: { mode?: boolean }): Promise<SmbStat>;
  /** Open for reading (files) or listing (directories). */
  open(path: string, opts?: { directory?: boolean }): Promise<SmbOpen>;
  /** What the opener knows of `fileId` that taking it back after a reconnect needs (durable.ts). */
  watchOpen(fileId: Buffer, w: OpenWatch): void;
  /** CLOSE; with `attrs` it asks for the attributes at close (null if the server gives none). */
  close(fileId: Buffer, opts?: { attrs?: boolean }): Promise<SmbStat | null>;
  /**
   * READ `length` bytes at `offset`, decanting the payload straight into
   * `dest` (advancing it). Resolves to the bytes read: fewer than asked at
   * end of file, 0 at or past it.
   */
  read(fileId: Buffer, offset: number, length: number, dest: BvecqPos): Promise<number>;
  /**
   * Every entry of an open directory (without '.' and '..'), each name once.
   * Fails when a reply makes no progress or past a million names; `signal`
   * stops it before its next request (the caller gave up).
   */
  listDirectory(fileId: Buffer, signal?: CallerGone): Promise<SmbDirEntry[]>;
  /**
   * Open the directory `path`, list it and close it, in as few round trips
   * as the protocol allows (one for a directory that fits one reply); the
   * directory's own attributes come with the entries. Bounds as listDirectory.
   * With `maxNames`, no more queries once that many names came; `complete` says if that was all.
   */
  listPath(path: string, signal?: CallerGone, opts?: { maxNames?: number }): Promise<{ stat: SmbStat; entries: SmbDirEntry[]; complete: boolean }>;
  statfs(): Promise<SmbFsStat>;
  disconnect(): Promise<void>;

  /** Largest WRITE payload: negotiated MaxWriteSize, at most 8 MiB (64 KiB on 2.0.2). */
  readonly maxWriteSize: number;
  /** CREATE with the given access, disposition and caching request. */
  create(path: string, opts: SmbCreateOptions): Promise<SmbOpenResult>;
  /**
   * CREATE + WRITE of `data` at offset 0 (none when empty) + SET_INFO of
   * `times` (when given) + CLOSE in one round trip, no lease. `data` at
   * most maxWriteSize.
   */
  createWriteClose(path: string, opts: SmbCreateOptions, data: Buffer, times?: SmbTimes): Promise<SmbWrittenFile>;
  /**
   * WRITE `data` at `offset`; the buffers go to the socket as they are (no
   * copy) and must stay unchanged until the promise settles. Total length at
   * most maxWriteSize. Resolves to the bytes written (the server's Count).
   * Many writes may be in flight at once.
   */
  write(fileId: Buffer, offset: number, data: Buffer[]): Promise<number>;
  flush(fileId: Buffer): Promise<void>;
  /** QUERY_INFO FileAllInformation on an open handle. */
  statHandle(fileId: Buffer): Promise<SmbStat>;
  setEndOfFile(fileId: Buffer, size: number): Promise<void>;
  setTimes(fileId: Buffer, times: SmbTimes): Promise<SmbStat | null>;
  /** Rename an open handle (opened with `delete: true`) to a share-relative path. */
  renameHandle(fileId: Buffer, newPath: string, replace: boolean): Promise<void>;
  /** Set or clear delete-on-close on an open handle (opened with `delete: true`). */
  setDeleteOnClose(fileId: Buffer, on: boolean): Promise<void>;
  /** One round trip each: CREATE + operation + CLOSE. */
  truncatePath(path: string, size: number): Promise<void>;
  /** Resolves to the attributes after the change (queried in the same compound), or null if they did not come. */
  setTimesPath(path: string, times: SmbTimes): Promise<SmbStat | null>;
  /** FILE_ATTRIBUTE_* bits; 0 clears them all (sent as FILE_ATTRIBUTE_NORMAL). */
  setAttributesPath(path: string, attributes: number): Promise<void>;
  /**
   * Resolves to the renamed file's attributes (queried in the same compound), null if they did not come.
   * `closing`: handles of this tree to CLOSE first in the same compound (still one round trip).
   */
  renamePath(from: string, to: string, replace: boolean, closing?: readonly Buffer[]): Promise<SmbStat | null>;
  /** `closing` as for renamePath. */
  unlinkPath(path: string, closing?: readonly Buffer[]): Promise<void>;
  /** ENOTEMPTY (STATUS_DIRECTORY_NOT_EMPTY) for a non-empty directory. */
  rmdirPath(path: string): Promise<void>;
  /** Resolves to the new directory's attributes (queried in the same compound), null if they did not come. */
  mkdirPath(path: string): Promise<SmbStat | null>;
  /** Hard link `newPath` to the file `existing`; resolves to its attributes after (same compound), null if they did not come. */
  linkPath(existing: string, newPath: string): Promise<SmbStat | null>;
  /** The mode the security descriptor records (mode-sid.ts), null if none. */
  modeOf(path: string): Promise<number | null>;
  /** Record `mode` in the DACL, replacing an earlier mode ACE and keeping the rest; resolves to the mode read back (null: the server dropped it). */
  setMode(path: string, mode: number, directory: boolean): Promise<number | null>;
  /** Extended attributes (FileFullEaInformation); [] when there are none. */
  getEas(path: string): Promise<{ name: string; value: Buffer }[]>;
  /** Set one EA, or remove it with null (an empty value also removes it). */
  setEa(path: string, name: string, value: Buffer | null): Promise<void>;
  /**
   * Register the break callback (replacing any earlier one). The ack goes out
   * after it resolves, or after 30 s regardless; ack errors are not thrown.
   */
  onBreak(cb: ((ev: SmbBreakEvent) => Promise<void>) | null): void;
}
