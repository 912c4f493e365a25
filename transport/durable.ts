/**
 * Durable handles (MS-SMB2 3.2.4.3.x, 2.2.13.2.3/.4/.11/.12): an open that
 * the server keeps for a while after the connection is lost, so a reconnect
 * can take it back (with its lease) instead of losing it. v2 (DH2Q, with a
 * CreateGuid, not persistent) on 3.x, v1 (DHnQ) on 2.1. Servers grant them
 * only to opens holding a batch oplock or a lease with handle caching.
 *
 * After a reconnect each durable open is reclaimed (DH2C / DHnC). When the
 * server no longer has it (it restarted, or its timeout passed), the file is
 * opened afresh. An open with data still to write (a WRITE unanswered, or
 * pages its opener has not sent yet) is opened afresh only if it is still
 * the file we had open — same file id, same size and, when we have not
 * written since we last saw it, the same last-write time, or grown by our
 * own WRITE in flight, whose bytes are read back to tell — so that data is
 * never written over someone else's changes; otherwise the handle is lost:
 * requests on it fail. Any other open comes back regardless, and its opener
 * is told when the file changed, so it drops what it cached.
 */
import { SmbProtocolError, SmbStatusError, SmbTransportError } from './errors.js';
import type { LeaseTable } from './lease.js';
import {
  CreateContextName,
  CreateDisposition,
  decodeCreateResponse,
  decodeLeaseContextData,
  FileAccess,
  OplockLevel,
  type CreateContext,
  type CreateResponse,
} from './pdu/create.js';
import { NtStatus } from './ntstatus.js';
import { decodeReadResponse } from './pdu/read.js';
import { expectStatus } from './session.js';
import { QFID_CONTEXT, statFromCreate, type TreeCore } from './tree-core.js';
import { leaseContext, readMsg } from './tree-io.js';
import { Dialect, type SmbStat } from './types.js';
import { uniqueId16 } from './unique-id.js';

/**
 * Pauses between reclaims of one durable open. Until the server has seen the
 * old connection close (Samba: after the requests it had queued on it) it
 * answers as if the open did not exist; under a stream of writes that took
 * 0.2 to 0.5 s here. After 1.5 s the file is opened afresh instead.
 */
const RECLAIM_PAUSES_MS = [100, 200, 300, 400, 500];

/**
 * A WRITE on its way: its byte range and the bytes it carries. They are held
 * for its resend anyway; after a reconnect they tell our own WRITE, landed in
 * part, from another client's append.
 */
export interface WriteInFlight {
  start: number;
  end: number;
  data: readonly Buffer[];
}

/** What the opener knows of an open that the transport does not. */
export interface OpenWatch {
  /** Data written to the file that has not been sent yet (write-back pages). */
  unwritten(): boolean;
  /** A reconnect found the file changed by someone else: what was cached of it is stale. */
  changed(): void;
}

/** What we need to take an open back after a reconnect (durable or not: every open is taken back). */
export interface DurableOpen {
  /** The server granted a durable handle: try to reclaim it before opening afresh. */
  durable: boolean;
  /** Opened for writing: with data still to write, reopened afresh only if the file is unchanged. */
  writable: boolean;
  /**
   * Each WRITE sent through it and not answered yet (parked ones included):
   * each may or may not have landed, whole or in part.
   */
  inFlight: WriteInFlight[];
  watch: OpenWatch | null;
  /** The caller's FileId buffer: rewritten in place when the open comes back under a new id. */
  fileId: Buffer;
  path: string;
  desiredAccess: number;
  createOptions: number;
  /** v2 (3.x) with this CreateGuid, or v1 (null). */
  createGuid: Buffer | null;
  leaseKey: Buffer | null;
  oplockLevel: number;
  /** The file as last seen: its id (0: unknown), size, last-write time (ms). */
  fileIndex: bigint;
  size: number;
  lastWriteMs: number;
  /** We wrote since lastWriteMs was seen, so the server's time moved by our hand. */
  wroteSince: boolean;
}

/** The durable-handle request context for this dialect, with its CreateGuid (v2), or null below 2.1. */
export function durableRequest(dialect: Dialect): { context: CreateContext; createGuid: Buffer | null } | null {
  if (dialect >= Dialect.SMB3_0) {
    const createGuid = uniqueId16();
    const data = Buffer.alloc(32);
    // Timeout 0: the server's default; Flags 0: not persistent (SMB2_DHANDLE_FLAG_PERSISTENT off).
    createGuid.copy(data, 16);
    return { context: { name: CreateContextName.DURABLE_HANDLE_REQUEST_V2, data }, createGuid };
  }
  if (dialect >= Dialect.SMB2_1) return { context: { name: CreateContextName.DURABLE_HANDLE_REQUEST, data: Buffer.alloc(16) }, createGuid: null };
  return null;
}

/** Whether a CREATE response grants the durable handle asked for. */
export function durableGranted(c: CreateResponse, v2: boolean): boolean {
  const name = v2 ? CreateContextName.DURABLE_HANDLE_REQUEST_V2 : CreateContextName.DURABLE_HANDLE_REQUEST;
  return c.contexts.some((x) => x.name === name && x.data.length >= (v2 ? 8 : 0));
}

/** The reconnect context for `d` (DH2C: FileId, CreateGuid, Flags; DHnC: FileId). */
function reconnectContext(d: DurableOpen): CreateContext {
  if (d.createGuid) {
    const data = Buffer.alloc(36);
    d.fileId.copy(data, 0);
    d.createGuid.copy(data, 16);
    return { name: CreateContextName.DURABLE_HANDLE_RECONNECT_V2, data };
  }
  return { name: CreateContextName.DURABLE_HANDLE_RECONNECT, data: Buffer.from(d.fileId) };
}

/** The durable opens of one tree, by FileId. */
export class DurableTable {
  private readonly opens = new Map<string, DurableOpen>();
  /** The opens reopenAll is taking back and has not filed again yet. */
  private readonly returning = new Set<DurableOpen>();

  add(d: DurableOpen): void {
    this.opens.set(d.fileId.toString('hex'), d);
  }

  remove(fileId: Buffer): void {
    this.opens.delete(fileId.toString('hex'));
    // Closed while a reconnect takes it back: its CLOSE waits for the
    // reconnect and then goes to the handle that replaced this one, so the
    // open is not filed again (it would be taken back at every later reconnect).
    for (const d of this.returning) if (d.fileId.equals(fileId)) this.returning.delete(d);
  }

  /** The opener's view of `fileId` (see OpenWatch). */
  watch(fileId: Buffer, w: OpenWatch): void {
    const d = this.opens.get(fileId.toString('hex'));
    if (d) d.watch = w;
  }

  /** A WRITE through `fileId` is going out. */
  noteWriteSent(fileId: Buffer, w: WriteInFlight): void {
    this.opens.get(fileId.toString('hex'))?.inFlight.push(w);
  }

  /** The WRITE `w` through `fileId` was answered (`reached`: where it reached) or failed (null). */
  noteWriteDone(fileId: Buffer, w: WriteInFlight, reached: number | null): void {
    const d = this.opens.get(fileId.toString('hex'));
    if (!d) return;
    const i = d.inFlight.indexOf(w);
    if (i >= 0) d.inFlight.splice(i, 1);
    if (reached === null) return;
    // The size we expect; the time we no longer know.
    d.size = Math.max(d.size, reached);
    d.wroteSince = true;
  }

  /** The file was set to `size` through `fileId`. */
  noteSize(fileId: Buffer, size: number): void {
    const d = this.opens.get(fileId.toString('hex'));
    if (!d) return;
    d.size = size;
    d.wroteSince = true;
  }

  /**
   * After a reconnect (new session and tree id already in `core`): take
   * every open back. Returns how many came back durably, how many were
   * opened afresh, and how many are lost.
   */
  async reopenAll(core: TreeCore, leases: LeaseTable): Promise<{ reclaimed: number; reopened: number; lost: number }> {
    const out = { reclaimed: 0, reopened: 0, lost: 0 };
    // All at once: a reclaim the server refuses is tried again for up to
    // 1.5 s (RECLAIM_PAUSES_MS) before the file is opened afresh, which one
    // open after another made a reconnect after a server crash take 1.5 s
    // per open file. An open leaves the table only once it is dealt with,
    // so a reconnect cut short (reopen throws when the connection drops
    // again) leaves the rest for the next attempt. Those back are filed
    // again under their new FileId, unless closed meanwhile.
    const all = [...this.opens];
    const back: DurableOpen[] = [];
    for (const [, d] of all) this.returning.add(d);
    try {
      const settled = await Promise.allSettled(
        all.map(async ([key, d]) => {
          const how = await reopen(core, leases, d);
          out[how]++;
          if (this.opens.get(key) === d) this.opens.delete(key);
          if (how !== 'lost') back.push(d);
        }),
      );
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      for (const d of back) if (this.returning.has(d)) this.add(d);
      this.returning.clear();
    }
    return out;
  }
}

/** Take one open back: durably, afresh when that is safe, else mark it lost. */
async function reopen(core: TreeCore, leases: LeaseTable, d: DurableOpen): Promise<'reclaimed' | 'reopened' | 'lost'> {
  // The same lease request as the open's own (tree-io.ts), so the server matches the lease.
  const lease = d.leaseKey && d.oplockLevel === OplockLevel.LEASE ? [leaseContext(core, d.leaseKey)] : [];
  let c: CreateResponse;
  // The server may not have noticed the old connection is gone yet: a few tries, a moment apart.
  for (let attempt = 0; d.durable && attempt <= RECLAIM_PAUSES_MS.length; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, RECLAIM_PAUSES_MS[attempt - 1]));
    try {
      c = await createFor(core, d, [reconnectContext(d), ...lease]);
      adopt(core, leases, d, c);
      return 'reclaimed';
    } catch (e) {
      if (!(e instanceof SmbStatusError)) throw e;
    }
  }
  // The server no longer holds the open: open the file again if it is unchanged.
  const fresh = d.oplockLevel !== OplockLevel.NONE ? durableRequest(core.neg.dialect) : null;
  try {
    c = await createFor(core, d, [QFID_CONTEXT, ...(fresh ? [fresh.context] : []), ...lease]);
  } catch (e) {
    if (!(e instanceof SmbStatusError)) throw e;
    return lose(core, leases, d, `cannot be opened again (${e.statusName})`);
  }
  const now = statFromCreate(c, true);
  let changed = changedWhileAway(d, now);
  // Only an open with data still to write must find the file as it left it.
  // (Samba moves a written file's last-write time up to 2 s late, so a file
  // written and flushed before a cut can look changed after it.)
  const mustBeAsLeft = d.writable && (d.inFlight.length > 0 || d.watch?.unwritten() === true);
  if (changed && mustBeAsLeft) {
    const w = writeReachingSize(d, now);
    if (w && (d.desiredAccess & FileAccess.FILE_READ_DATA) !== 0 && (await landedInPart(core, c.fileId, w, now.size))) changed = false;
  }
  if (changed && mustBeAsLeft) {
    await closeQuietly(core, c.fileId);
    const writes = d.inFlight.map((w) => `${w.start}-${w.end}`).join(' ') || 'none';
    return lose(core, leases, d, `changed on the server while the connection was down (size ${now.size}, ours ${d.size}, writes in flight ${writes}; time ${now.lastWriteTime.getTime()}, ours ${d.lastWriteMs}${d.wroteSince ? ' or later' : ''})`);
  }
  if (changed) d.watch?.changed();
  d.durable = fresh !== null && durableGranted(c, fresh.createGuid !== null);
  d.createGuid = d.durable ? fresh!.createGuid : null;
  adopt(core, leases, d, c);
  return 'reopened';
}

/**
 * Whether the file `st` shows after a reconnect is not the one `d` left: another
 * id, another last-write time (unless we wrote since we saw it), or a size our
 * own writes cannot explain. A WRITE sent but never answered may or may not
 * have landed; one that did and reached past the size we knew left the file
 * ending exactly where it ended. Any other size is someone else's doing (an
 * append while we were away), even one between the two.
 */
export function changedWhileAway(d: Pick<DurableOpen, 'fileIndex' | 'size' | 'lastWriteMs' | 'wroteSince' | 'inFlight'>, st: SmbStat): boolean {
  const sameTime = d.wroteSince || st.lastWriteTime.getTime() === d.lastWriteMs;
  const sameSize = st.size === d.size || d.inFlight.some((w) => w.end > d.size && w.end === st.size);
  return !sameId(d, st) || !sameSize || !sameTime;
}

function sameId(d: Pick<DurableOpen, 'fileIndex'>, st: SmbStat): boolean {
  return d.fileIndex === 0n || st.fileIndex === 0n || st.fileIndex === d.fileIndex;
}

/**
 * The WRITE in flight that the file, grown past the size we knew, now ends
 * inside or at the end of: if that WRITE landed in part (a server process
 * that dies in the middle of one leaves the file ending at any byte of it)
 * or whole, its bytes are there, and they alone tell it from an append by
 * someone else. Null when no WRITE can explain the size.
 */
export function writeReachingSize(d: Pick<DurableOpen, 'fileIndex' | 'size' | 'inFlight'>, st: SmbStat): WriteInFlight | null {
  if (!sameId(d, st) || st.size <= d.size) return null;
  return d.inFlight.find((w) => w.start < st.size && st.size <= w.end) ?? null;
}

/** Whether `got`, read from `at` bytes into `data`, is that part of it. */
export function holdsAt(data: readonly Buffer[], at: number, got: Buffer): boolean {
  let skip = at;
  let done = 0;
  for (const b of data) {
    if (done === got.length) break;
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    const n = Math.min(b.length - skip, got.length - done);
    if (!b.subarray(skip, skip + n).equals(got.subarray(done, done + n))) return false;
    done += n;
    skip = 0;
  }
  return done === got.length;
}

/**
 * Whether the file holds `w`'s bytes from its start up to `size`: READs on
 * the fresh handle (setup requests, at most MaxReadSize each), compared with
 * the payload. A short or failed READ means it does not.
 */
async function landedInPart(core: TreeCore, fileId: Buffer, w: WriteInFlight, size: number): Promise<boolean> {
  for (let at = w.start; at < size; ) {
    const length = Math.min(size - at, core.neg.maxReadSize);
    const m = readMsg(core, fileId, at, length);
    m.setup = true;
    const r = await core.conn.request(m);
    if (r.header.status !== NtStatus.STATUS_SUCCESS) return false;
    let data: Buffer;
    try {
      data = decodeReadResponse(r.msg).data;
    } catch (e) {
      if (e instanceof SmbProtocolError) return false;
      throw e;
    }
    if (data.length !== length || !holdsAt(w.data, at - w.start, data)) return false;
    at += length;
  }
  return true;
}

/** A setup CREATE (sent while the reconnect is under way) of `d`'s file with `contexts`. */
async function createFor(core: TreeCore, d: DurableOpen, contexts: CreateContext[]): Promise<CreateResponse> {
  const m = core.createMsg(d.path, {
    desiredAccess: d.desiredAccess,
    disposition: CreateDisposition.FILE_OPEN,
    createOptions: d.createOptions,
    requestedOplockLevel: d.oplockLevel,
    contexts,
  });
  m.setup = true;
  const r = await core.conn.request(m);
  expectStatus(r);
  return decodeCreateResponse(r.msg);
}

/** The open is back as `c`: parked requests and the caller's buffer take its FileId; its lease is recorded again. */
function adopt(core: TreeCore, leases: LeaseTable, d: DurableOpen, c: CreateResponse): void {
  leases.forget(d.fileId);
  core.conn.mapFileId(d.fileId, c.fileId);
  Buffer.from(c.fileId).copy(d.fileId);
  const st = statFromCreate(c, true);
  // Parked WRITEs are still to be resent after this (inFlight stays as it is).
  d.size = st.size;
  d.lastWriteMs = st.lastWriteTime.getTime();
  d.wroteSince = false;
  if (st.fileIndex !== 0n) d.fileIndex = st.fileIndex;
  if (c.oplockLevel === OplockLevel.LEASE) {
    const ctx = c.contexts.find((x) => x.name === CreateContextName.REQUEST_LEASE);
    if (ctx) {
      const l = decodeLeaseContextData(ctx.data);
      if (d.leaseKey && l.leaseKey.equals(d.leaseKey)) leases.addLease(d.fileId, d.leaseKey, l.leaseState, l.epoch, d.path);
    }
  } else if (c.oplockLevel !== OplockLevel.NONE) {
    leases.addOplock(d.fileId, c.oplockLevel);
  }
}

/** The handle is gone for good: requests on it fail with a line that says why. */
function lose(core: TreeCore, leases: LeaseTable, d: DurableOpen, why: string): 'lost' {
  leases.forget(d.fileId);
  const e = new SmbTransportError(`an open file's handle was lost in a reconnect: the file ${why}; its unwritten data cannot be written`);
  e.final = true;
  core.conn.markHandleLost(d.fileId, e);
  return 'lost';
}

async function closeQuietly(core: TreeCore, fileId: Buffer): Promise<void> {
  const m = core.closeMsg(fileId);
  m.setup = true;
  await core.conn.request(m).catch(() => {});
}
