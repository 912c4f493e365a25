/**
 * An in-memory SMB share implementing the whole SmbTree (read and write
 * sides) for src/ unit tests. Paths are SMB paths ('' root, '\' separators).
 * Handles refer to the file object, so they keep working across renames and
 * after a delete, as on a real server. Counters in `calls` let tests check
 * round trips; `failWrite` makes WRITEs fail; `slowIo`, while set, holds
 * READs, WRITEs and EA queries before they touch any data (a slow server, or a socket
 * that has not taken the bytes yet); `leaseState` is what CREATE
 * grants when a lease is asked for; `breakLease` plays a server break.
 */
import type { BvecqPos } from '../../netfs/bvecq.js';
import { SmbStatusError } from '../../transport/errors.js';
import { NtStatus } from '../../transport/ntstatus.js';
import type { SmbDirEntry, SmbFsStat, SmbOpen, SmbStat, SmbWrittenFile } from '../../transport/types.js';
import type { SmbBreakEvent as BreakEvent, SmbCreateOptions as CreateOptions, SmbOpenResult as CreateResult, SmbTree, SmbTimes } from '../../transport/types.js';

export const T0 = new Date('2024-01-02T03:04:05Z');

export interface FakeFile {
  data: Buffer | null;
  stat: SmbStat;
  eas: Map<string, Buffer>;
  /** Mode kept in the security descriptor (modefromsid); undefined: no DACL. */
  mode?: number;
}

export function fakeStat(isDirectory: boolean, size: number, over: Partial<SmbStat> = {}): SmbStat {
  return {
    fileIndex: 7n, size, allocationSize: Math.ceil(size / 4096) * 4096, attributes: isDirectory ? 0x10 : 0x20,
    isDirectory, creationTime: T0, lastAccessTime: T0, lastWriteTime: T0, changeTime: T0, nlink: 1, ...over,
  };
}

const err = (s: number) => new SmbStatusError(s, undefined, 5, 1n);

export class FakeTree implements SmbTree {
  /** TREE_CONNECT's MaximalAccess: everything (a read-only share lacks FILE_ADD_FILE, 0x2). */
  shareAccess = 0x1f01ff;
  /** MxAc a listing or mkdir of a directory (SMB path) reports: everything where not set, as Samba for its owner. */
  readonly dirAccess = new Map<string, number>();
  maxReadSize = 65536;
  maxWriteSize = 65536;
  transferBudget = Number.MAX_SAFE_INTEGER;
  files = new Map<string, FakeFile>();
  calls: Record<string, number> = {};
  handles = new Map<string, { file: FakeFile; path: string; leaseKey: Buffer | null }>();
  nextId = 1;
  hang = false;
  failRead: Error | null = null;
  failWrite: Error | null = null;
  /** Set: every listing fails with it (a directory one may traverse but not list). */
  failList: Error | null = null;
  slowIo: Promise<void> | null = null;
  leaseState = 7;
  clock = T0.getTime();
  breakCb: ((ev: BreakEvent) => Promise<void>) | null = null;
  fs: SmbFsStat = { blockSize: 4096, totalBlocks: 1000, freeBlocks: 400, availBlocks: 300 };
  /** Mode bits setMode keeps (Samba: the rwx bits only). */
  keptModeBits = 0o7777;

  /** Count one call of `name`. */
  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  add(path: string, data: Buffer | null, over: Partial<SmbStat> = {}): FakeFile {
    const f = { data, stat: fakeStat(data === null, data?.length ?? 0, over), eas: new Map<string, Buffer>() };
    this.files.set(path, f);
    return f;
  }

  /** The data of `path` as a string (test convenience). */
  text(path: string): string {
    return this.find(path).data!.toString();
  }

  find(path: string): FakeFile {
    const f = this.files.get(path);
    if (!f) throw err(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
    return f;
  }

  private handle(fileId: Buffer) {
    const h = this.handles.get(fileId.toString('hex'));
    if (!h) throw err(NtStatus.STATUS_FILE_CLOSED);
    return h;
  }

  private parentOf(path: string): string {
    const i = path.lastIndexOf('\\');
    return i < 0 ? '' : path.slice(0, i);
  }

  /** Mark data changed: size, a new mtime. */
  private touch(f: FakeFile): void {
    this.clock += 1000;
    f.stat = { ...f.stat, size: f.data?.length ?? 0, lastWriteTime: new Date(this.clock), changeTime: new Date(this.clock) };
  }

  async stat(path: string, opts: { mode?: boolean } = {}): Promise<SmbStat> {
    this.count('stat');
    if (this.hang) return new Promise(() => {});
    const f = this.find(path);
    return opts.mode ? { ...f.stat, mode: f.mode ?? null } : f.stat;
  }

  async modeOf(path: string): Promise<number | null> {
    this.count('modeOf');
    return this.find(path).mode ?? null;
  }

  async setMode(path: string, mode: number): Promise<number | null> {
    this.count('setMode');
    const f = this.find(path);
    f.mode = mode & this.keptModeBits;
    return f.mode;
  }

  async open(path: string, opts?: { directory?: boolean }): Promise<SmbOpen> {
    this.count('open');
    const r = await this.create(path, { access: 'read', disposition: 'open', ...(opts?.directory ? { directory: true } : {}) });
    this.calls['create']!--;
    return r;
  }

  async create(path: string, o: CreateOptions): Promise<CreateResult> {
    this.count('create');
    let f = this.files.get(path);
    let action = 1;
    if (f && o.disposition === 'create') throw err(NtStatus.STATUS_OBJECT_NAME_COLLISION);
    if (!f) {
      if (o.disposition === 'open' || o.disposition === 'overwrite') throw err(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
      const parent = this.files.get(this.parentOf(path));
      if (!parent || parent.data !== null) throw err(NtStatus.STATUS_OBJECT_PATH_NOT_FOUND);
      f = this.add(path, o.directory ? null : Buffer.alloc(0), { fileIndex: BigInt(100 + this.files.size) });
      this.touch(f);
      action = 2;
    } else if (o.disposition === 'overwrite' || o.disposition === 'overwrite_if') {
      if (f.data === null) throw err(NtStatus.STATUS_FILE_IS_A_DIRECTORY);
      f.data = Buffer.alloc(0);
      this.touch(f);
      action = 3;
    }
    if (o.access !== 'read' && f.stat.attributes & 1) throw err(NtStatus.STATUS_ACCESS_DENIED);
    const fileId = Buffer.alloc(16);
    fileId.writeUInt32LE(this.nextId++);
    const leaseKey = o.lease ? Buffer.from(fileId) : null;
    this.handles.set(fileId.toString('hex'), { file: f, path, leaseKey });
    // As a real CREATE reply: the file id (QFid) but no link count.
    return { fileId, stat: { ...f.stat, nlink: 0 }, createAction: action, leaseKey, leaseState: o.lease ? this.leaseState : 0 };
  }

  /** This fake never reconnects: what a reconnect would ask is never asked. */
  watchOpen(): void {}

  async close(fileId: Buffer, opts: { attrs?: boolean } = {}): Promise<SmbStat | null> {
    this.count('close');
    const h = this.handles.get(fileId.toString('hex'));
    if (!h || !this.handles.delete(fileId.toString('hex'))) throw err(NtStatus.STATUS_FILE_CLOSED);
    // As a real CLOSE reply: attributes, but neither file id nor link count.
    return opts.attrs ? { ...h.file.stat, fileIndex: 0n, nlink: 0 } : null;
  }

  /** As the compound: counted once, as 'createWriteClose'. */
  async createWriteClose(path: string, o: CreateOptions, data: Buffer, times?: SmbTimes): Promise<SmbWrittenFile> {
    this.count('createWriteClose');
    const r = await this.create(path, o);
    this.calls['create']!--;
    const written = data.length > 0 ? await this.write(r.fileId, 0, [data]) : 0;
    if (data.length > 0) this.calls['write']!--;
    if (times) this.applyTimes(this.handle(r.fileId).file, times);
    const h = this.handles.get(r.fileId.toString('hex'))!;
    this.handles.delete(r.fileId.toString('hex'));
    return { createAction: r.createAction, written, stat: { ...h.file.stat, nlink: 0 } };
  }

  async read(fileId: Buffer, offset: number, length: number, dest: BvecqPos): Promise<number> {
    this.count('read');
    if (this.slowIo) await this.slowIo;
    if (this.failRead) throw this.failRead;
    const data = this.handle(fileId).file.data!;
    const n = Math.max(0, Math.min(length, data.length - offset));
    if (n > 0) dest.copyIn(data, offset, n);
    return n;
  }

  async write(fileId: Buffer, offset: number, data: Buffer[]): Promise<number> {
    this.count('write');
    if (this.slowIo) await this.slowIo;
    if (this.failWrite) throw this.failWrite;
    const f = this.handle(fileId).file;
    const buf = Buffer.concat(data);
    const end = offset + buf.length;
    if (end > f.data!.length) f.data = Buffer.concat([f.data!, Buffer.alloc(end - f.data!.length)]);
    buf.copy(f.data!, offset);
    this.touch(f);
    return buf.length;
  }

  async flush(fileId: Buffer): Promise<void> {
    this.count('flush');
    this.handle(fileId);
  }

  async statHandle(fileId: Buffer): Promise<SmbStat> {
    return this.handle(fileId).file.stat;
  }

  private resize(f: FakeFile, size: number): void {
    const d = f.data!;
    f.data = size <= d.length ? Buffer.from(d.subarray(0, size)) : Buffer.concat([d, Buffer.alloc(size - d.length)]);
    this.touch(f);
  }

  async setEndOfFile(fileId: Buffer, size: number): Promise<void> {
    this.count('setEndOfFile');
    this.resize(this.handle(fileId).file, size);
  }

  private applyTimes(f: FakeFile, t: SmbTimes): void {
    f.stat = {
      ...f.stat,
      ...(t.lastAccessTime ? { lastAccessTime: t.lastAccessTime } : {}),
      ...(t.lastWriteTime ? { lastWriteTime: t.lastWriteTime } : {}),
      ...(t.attributes !== undefined ? { attributes: t.attributes } : {}),
    };
  }

  async setTimes(fileId: Buffer, t: SmbTimes): Promise<SmbStat | null> {
    this.count('setTimes');
    const f = this.handle(fileId).file;
    this.applyTimes(f, t);
    return f.stat;
  }

  async renameHandle(fileId: Buffer, newPath: string, replace: boolean): Promise<void> {
    await this.renamePath(this.handle(fileId).path, newPath, replace);
  }

  async setDeleteOnClose(): Promise<void> {}

  async truncatePath(path: string, size: number): Promise<void> {
    this.count('truncatePath');
    this.resize(this.find(path), size);
  }

  async setTimesPath(path: string, t: SmbTimes): Promise<SmbStat | null> {
    this.count('setTimesPath');
    const f = this.find(path);
    this.applyTimes(f, t);
    return f.stat;
  }

  async setAttributesPath(path: string, attributes: number): Promise<void> {
    this.count('setAttributesPath');
    const f = this.find(path);
    f.stat = { ...f.stat, attributes: (attributes === 0x80 ? 0 : attributes) | (f.data === null ? 0x10 : 0) };
  }

  async renamePath(from: string, to: string, replace: boolean, closing: readonly Buffer[] = []): Promise<SmbStat | null> {
    this.count('renamePath');
    this.closeInCompound(closing);
    const f = this.find(from);
    const dst = this.files.get(to);
    if (dst && (!replace || dst.data === null)) throw err(dst.data === null ? NtStatus.STATUS_ACCESS_DENIED : NtStatus.STATUS_OBJECT_NAME_COLLISION);
    if (!this.files.has(this.parentOf(to))) throw err(NtStatus.STATUS_OBJECT_PATH_NOT_FOUND);
    const moves: Array<[string, FakeFile]> = [];
    for (const [p, x] of this.files) if (p === from || p.startsWith(from + '\\')) moves.push([p, x]);
    for (const [p] of moves) this.files.delete(p);
    for (const [p, x] of moves) this.files.set(to + p.slice(from.length), x);
    for (const h of this.handles.values()) if (h.path === from || h.path.startsWith(from + '\\')) h.path = to + h.path.slice(from.length);
    return f.stat;
  }

  /** The CLOSEs an unlink or rename carries first in its compound, counted as 'closeInCompound' (an unknown id is no error, as STATUS_FILE_CLOSED is not). */
  private closeInCompound(closing: readonly Buffer[]): void {
    for (const id of closing) {
      this.count('closeInCompound');
      this.handles.delete(id.toString('hex'));
    }
  }

  async unlinkPath(path: string, closing: readonly Buffer[] = []): Promise<void> {
    this.count('unlinkPath');
    this.closeInCompound(closing);
    const f = this.find(path);
    if (f.data === null) throw err(NtStatus.STATUS_FILE_IS_A_DIRECTORY);
    if (f.stat.attributes & 1) throw err(NtStatus.STATUS_ACCESS_DENIED);
    this.files.delete(path);
    f.stat = { ...f.stat, nlink: Math.max(0, f.stat.nlink - 1) };
  }

  async rmdirPath(path: string): Promise<void> {
    this.count('rmdirPath');
    const f = this.find(path);
    if (f.data !== null) throw err(NtStatus.STATUS_NOT_A_DIRECTORY);
    for (const p of this.files.keys()) if (p.startsWith(path + '\\')) throw err(NtStatus.STATUS_DIRECTORY_NOT_EMPTY);
    this.files.delete(path);
  }

  async mkdirPath(path: string): Promise<SmbStat | null> {
    this.count('mkdirPath');
    if (this.files.has(path)) throw err(NtStatus.STATUS_OBJECT_NAME_COLLISION);
    this.add(path, null);
    return { ...this.find(path).stat, maximalAccess: this.dirAccess.get(path) ?? 0x1f01ff };
  }

  async linkPath(existing: string, newPath: string): Promise<SmbStat | null> {
    this.count('linkPath');
    const f = this.find(existing);
    if (this.files.has(newPath)) throw err(NtStatus.STATUS_OBJECT_NAME_COLLISION);
    f.stat = { ...f.stat, nlink: f.stat.nlink + 1 };
    this.files.set(newPath, f);
    return f.stat;
  }

  async getEas(path: string): Promise<Array<{ name: string; value: Buffer }>> {
    if (this.slowIo) await this.slowIo;
    const f = this.find(path);
    if (f.eas.size === 0) throw err(NtStatus.STATUS_NO_EAS_ON_FILE);
    return [...f.eas].map(([name, value]) => ({ name, value }));
  }

  async setEa(path: string, name: string, value: Buffer | null): Promise<void> {
    const f = this.find(path);
    if (value === null) f.eas.delete(name);
    else f.eas.set(name, value);
  }

  onBreak(cb: (ev: BreakEvent) => Promise<void>): void {
    this.breakCb = cb;
  }

  /** Play a lease break to `newState` on the handle `fileId`. */
  async breakLease(fileId: Buffer, newState: number): Promise<void> {
    const h = this.handle(fileId);
    await this.breakCb?.({ leaseKey: h.leaseKey, fileId, newState, ackRequired: true });
  }

  async listDirectory(fileId: Buffer, _signal?: AbortSignal): Promise<SmbDirEntry[]> {
    this.count('list');
    if (this.failList) throw this.failList;
    const dir = this.handle(fileId).path;
    const st = this.find(dir).stat;
    const out: SmbDirEntry[] = [{ name: '.', ...st }, { name: '..', ...st }];
    for (const [p, f] of this.files) {
      // Directory entries carry no link count.
      if (p !== '' && this.parentOf(p) === dir) out.push({ name: p.slice(p.lastIndexOf('\\') + 1), ...f.stat, nlink: 0 });
    }
    return out;
  }


  async listPath(path: string, signal?: AbortSignal, opts: { maxNames?: number } = {}): Promise<{ stat: SmbStat; entries: SmbDirEntry[]; complete: boolean }> {
    const o = await this.open(path, { directory: true });
    try {
      const entries = await this.listDirectory(o.fileId, signal);
      const complete = entries.length <= (opts.maxNames ?? Infinity);
      const stat = { ...o.stat, maximalAccess: this.dirAccess.get(path) ?? 0x1f01ff };
      return { stat, entries: complete ? entries : entries.slice(0, opts.maxNames), complete };
    } finally {
      await this.close(o.fileId);
    }
  }

  async statfs(): Promise<SmbFsStat> {
    this.count('statfs');
    return this.fs;
  }

  async disconnect(): Promise<void> {}
}
