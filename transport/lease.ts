/**
 * Leases (SMB 2.1+) and oplocks (2.0.2) held by one tree, and the handling of
 * the server's break notifications (MS-SMB2 3.2.5.19.1 oplock break,
 * 3.2.5.19.2 lease break).
 *
 * A break goes: notification arrives (unsolicited OPLOCK_BREAK, MessageId
 * 0xFF..FF) → the upper layer's break callback runs (it writes back dirty data
 * and drops what it may no longer cache) → the acknowledgment goes out with
 * the new state → the table takes the new state. The server waits for the ack
 * for 35 s (Samba: `oplock break wait time`, Windows: the lease break timeout)
 * before it breaks the lease anyway, so a callback that has not resolved after
 * ACK_DEADLINE_MS does not hold the ack back. Ack failures are published on
 * the diagnostics channel and in the 'break' event, never thrown.
 *
 * A break can be read before the grant it breaks is recorded: the server sends
 * the CREATE reply first, but when both arrive in one read the notification is
 * handled before the code awaiting the reply has run. Such a break is held
 * until that code records the grant (before the next I/O callback); dropped,
 * it would go unacknowledged and the server would hold the CREATE that caused
 * it for its whole break timeout, while we went on caching under the old state.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { ServerNotification } from './connection.js';
import { decodeOplockBreakNotification, encodeLeaseBreakAck, encodeOplockBreakAck, LeaseBreakFlags } from './pdu/misc.js';
import { Smb2Command } from './pdu/header.js';
import { OplockLevel, LeaseState } from './pdu/create.js';
import { expectStatus } from './session.js';
import type { TreeCore } from './tree-core.js';
import type { SmbBreakEvent } from './types.js';
import { uniqueId16 } from './unique-id.js';

export type { SmbBreakEvent };

/** Diagnostics channel for transport events that nobody awaits (break acks). */
export const transportChannel = diagnostics_channel.channel('smbfuse:transport');

/** How long the break callback may run before the ack goes out regardless. */
export const ACK_DEADLINE_MS = 30_000;

export type SmbBreakHandler = (ev: SmbBreakEvent) => Promise<void>;

/** What happened to one break, emitted as 'break' once it is over. */
export interface SmbBreakRecord extends SmbBreakEvent {
  acked: boolean;
  ackError: Error | null;
}

/** Caching a granted oplock level allows, as lease state bits. */
export function oplockToLeaseState(level: number): number {
  switch (level) {
    case OplockLevel.BATCH:
      return LeaseState.READ_CACHING | LeaseState.HANDLE_CACHING | LeaseState.WRITE_CACHING;
    case OplockLevel.EXCLUSIVE:
      return LeaseState.READ_CACHING | LeaseState.WRITE_CACHING;
    case OplockLevel.II:
      return LeaseState.READ_CACHING;
    default:
      return LeaseState.NONE;
  }
}

interface LeaseEntry {
  key: Buffer;
  /** Lower-cased share path the lease was granted on (until renamed or deleted). */
  path: string | null;
  state: number;
  epoch: number;
  /** Hex FileIds of our open handles under this lease. */
  handles: Set<string>;
}

export class LeaseTable extends EventEmitter<{ break: [SmbBreakRecord] }> {
  private readonly leases = new Map<string, LeaseEntry>();
  private readonly oplocks = new Map<string, { fileId: Buffer; level: number }>();
  private readonly byHandle = new Map<string, string>();
  /** Lower-cased path → lease key hex, so opens of one file share one lease. */
  private readonly byPath = new Map<string, string>();
  private handler: SmbBreakHandler | null = null;
  /** Breaks read before their grant was recorded, by lease key or FileId hex: each handles itself once the grant is in. */
  private readonly early = new Map<string, () => void>();

  constructor(private readonly core: TreeCore) {
    super();
  }

  /** Register the break callback (replaces any earlier one). */
  onBreak(handler: SmbBreakHandler | null): void {
    this.handler = handler;
  }

  /** A fresh 16-byte lease key. */
  static newKey(): Buffer {
    return uniqueId16();
  }

  /** The state of a lease we hold, or undefined if we hold none under `key`. */
  stateOf(key: Buffer): number | undefined {
    return this.leases.get(key.toString('hex'))?.state;
  }

  /**
   * The key of a lease we hold on `path`, if any. Every open of one file
   * should use one lease key: a second key for the same file makes the
   * server break our own lease (MS-SMB2 3.3.5.9.8).
   */
  keyForPath(path: string): Buffer | undefined {
    const k = this.byPath.get(path.toLowerCase());
    return k === undefined ? undefined : this.leases.get(k)?.key;
  }

  /** `path` was renamed or deleted: later opens of that name get a new key. */
  dropPath(path: string): void {
    const p = path.toLowerCase();
    const k = this.byPath.get(p);
    if (k === undefined) return;
    this.byPath.delete(p);
    const e = this.leases.get(k);
    if (e) e.path = null;
  }

  /** The file open as `fileId` was renamed: its lease no longer belongs to its old name. */
  dropHandlePath(fileId: Buffer): void {
    const k = this.byHandle.get(fileId.toString('hex'));
    const e = k === undefined ? undefined : this.leases.get(k);
    if (e?.path) this.dropPath(e.path);
  }

  /** Record a lease granted on an open handle of `path`; the state the open may cache under (a break read early may have lowered it). */
  addLease(fileId: Buffer, key: Buffer, state: number, epoch: number, path: string | null = null): number {
    const k = key.toString('hex');
    let e = this.leases.get(k);
    if (!e) {
      e = { key: Buffer.from(key), path: null, state, epoch, handles: new Set() };
      this.leases.set(k, e);
    }
    if (path !== null && e.path === null) {
      e.path = path.toLowerCase();
      this.byPath.set(e.path, k);
    }
    e.state = state;
    e.epoch = Math.max(e.epoch, epoch);
    const h = fileId.toString('hex');
    e.handles.add(h);
    this.byHandle.set(h, k);
    this.claimEarly(k);
    return e.state;
  }

  /** Record an oplock granted on an open handle (2.0.2, or no lease offered); the state it allows now, as lease bits. */
  addOplock(fileId: Buffer, level: number): number {
    if (level === OplockLevel.NONE) return LeaseState.NONE;
    const h = fileId.toString('hex');
    const o = { fileId: Buffer.from(fileId), level };
    this.oplocks.set(h, o);
    this.claimEarly(h);
    return oplockToLeaseState(o.level);
  }

  /** A break read before this grant was recorded: handle it now. */
  private claimEarly(id: string): void {
    const handle = this.early.get(id);
    if (!handle) return;
    this.early.delete(id);
    handle();
  }

  /**
   * A break for a lease or oplock not in the table: either its grant has been
   * delivered and is about to be recorded (see the head comment), or it is
   * ours no longer (closed) or never was (another tree's). Held until the
   * reads of this turn have been handled, then dropped.
   */
  private holdEarly(id: string, next: () => void): void {
    const before = this.early.get(id);
    const handle = before ? () => (before(), next()) : next;
    this.early.set(id, handle);
    setImmediate(() => {
      if (this.early.get(id) === handle) this.early.delete(id);
    });
  }

  /** The handle is closed: it no longer holds its oplock or its share of a lease. */
  forget(fileId: Buffer): void {
    const h = fileId.toString('hex');
    this.oplocks.delete(h);
    const k = this.byHandle.get(h);
    if (k === undefined) return;
    this.byHandle.delete(h);
    const e = this.leases.get(k);
    if (!e) return;
    e.handles.delete(h);
    if (e.handles.size > 0) return;
    this.leases.delete(k);
    if (e.path !== null && this.byPath.get(e.path) === k) this.byPath.delete(e.path);
  }

  /** Entry point for every server notification on the connection. */
  onNotification(n: ServerNotification): void {
    let nb;
    try {
      nb = decodeOplockBreakNotification(n.msg);
    } catch (e) {
      transportChannel.publish({ event: 'bad-break', error: e });
      return;
    }
    if (nb.kind === 'lease') {
      const k = nb.leaseKey.toString('hex');
      const e = this.leases.get(k);
      if (e) return this.leaseBreak(nb, e);
      this.holdEarly(k, () => {
        const granted = this.leases.get(k)!;
        // v2: a grant of a later epoch than the break's already says the newer state.
        if (nb.newEpoch !== 0 && nb.newEpoch <= granted.epoch) return;
        // Nothing is cached under the grant yet: the open is told the broken state at once.
        granted.state = nb.newLeaseState;
        this.leaseBreak(nb, granted);
      });
      return;
    }
    const h = nb.fileId.toString('hex');
    const o = this.oplocks.get(h);
    if (o) return this.oplockBreak(nb.oplockLevel, o);
    this.holdEarly(h, () => {
      const granted = this.oplocks.get(h)!;
      const was = granted.level;
      // Nothing is cached under the grant yet: the open is told the broken level at once.
      granted.level = nb.oplockLevel;
      this.oplockBreak(nb.oplockLevel, granted, was);
    });
  }

  private leaseBreak(nb: { leaseKey: Buffer; flags: number; newLeaseState: number; newEpoch: number }, e: LeaseEntry): void {
    const ackRequired = (nb.flags & LeaseBreakFlags.ACK_REQUIRED) !== 0;
    const ev = { leaseKey: Buffer.from(nb.leaseKey), fileId: null, newState: nb.newLeaseState, ackRequired };
    void this.run(ev, () => {
      e.state = nb.newLeaseState;
      e.epoch = Math.max(e.epoch, nb.newEpoch);
    });
  }

  /** `was`: the level the break is from (the table's unless a break read early already lowered it). */
  private oplockBreak(level: number, o: { fileId: Buffer; level: number }, was = o.level): void {
    // Only breaks from an exclusive or batch oplock are acknowledged (3.2.5.19.1).
    const ackRequired = was === OplockLevel.BATCH || was === OplockLevel.EXCLUSIVE;
    const ev = { leaseKey: null, fileId: o.fileId, newState: oplockToLeaseState(level), ackRequired };
    void this.run(ev, () => {
      o.level = level;
    });
  }

  /** Callback (bounded by ACK_DEADLINE_MS), then ack, then the new state; never throws. */
  private async run(ev: SmbBreakEvent, apply: () => void): Promise<void> {
    const rec: SmbBreakRecord = { ...ev, acked: false, ackError: null };
    if (this.handler) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ACK_DEADLINE_MS);
      });
      try {
        await Promise.race([this.handler(ev), deadline]);
      } catch (e) {
        transportChannel.publish({ event: 'break-callback-failed', leaseKey: ev.leaseKey, fileId: ev.fileId, error: e });
      } finally {
        clearTimeout(timer);
      }
    }
    if (ev.ackRequired) {
      try {
        await this.ack(ev);
        rec.acked = true;
      } catch (e) {
        rec.ackError = e as Error;
        transportChannel.publish({ event: 'break-ack-failed', leaseKey: ev.leaseKey, fileId: ev.fileId, error: e });
      }
    }
    apply();
    this.emit('break', rec);
  }

  /** LEASE_BREAK_ACK with the new state, or OPLOCK_BREAK_ACK with the new level. */
  private async ack(ev: SmbBreakEvent): Promise<void> {
    const body = ev.leaseKey
      ? encodeLeaseBreakAck({ leaseKey: ev.leaseKey, leaseState: ev.newState })
      : encodeOplockBreakAck({ oplockLevel: ev.newState & LeaseState.READ_CACHING ? OplockLevel.II : OplockLevel.NONE, fileId: ev.fileId! });
    const r = await this.core.conn.request(this.core.msg(Smb2Command.OPLOCK_BREAK, body));
    expectStatus(r);
  }
}
