/**
 * Failures a person can act on, logged once with what to do, never once per
 * call: the server gone (connection lost, or not answering), the session
 * ended (authentication), the share removed, the server's disk full.
 *
 * A lost connection, an ended session and a removed share do not come back
 * in this version (there is no reconnect), so each is logged once per mount.
 * "Not answering" is logged again only after the server has answered
 * something since; "disk full" only after a WRITE has succeeded since.
 * (There is no local disk cache, so "cache disk full" cannot happen.)
 */
import { describeOutcome, type SmbTraceEvent } from '../transport/index.js';
import { NtStatus } from '../transport/ntstatus.js';
import { smb2CommandName } from '../transport/pdu/commands.js';

export interface FaultContext {
  unc: string;
  hostPort: string;
  share: string;
  mountpoint: string;
  timeoutMs: number;
}

/** What the log needs to know about the connection to re-arm a message. */
export interface FaultProbes {
  /** When bytes last arrived from the server (ms since the epoch). */
  lastReceiveAt(): number;
  /** WRITE payload bytes the server has taken so far. */
  bytesWritten(): number;
}

const SESSION_GONE = new Set<number>([
  NtStatus.STATUS_USER_SESSION_DELETED,
  NtStatus.STATUS_NETWORK_SESSION_EXPIRED,
  NtStatus.STATUS_LOGON_FAILURE,
  NtStatus.STATUS_PASSWORD_EXPIRED,
  NtStatus.STATUS_ACCOUNT_DISABLED,
]);
const SHARE_GONE = new Set<number>([NtStatus.STATUS_NETWORK_NAME_DELETED, NtStatus.STATUS_BAD_NETWORK_NAME]);
const DISK_FULL = new Set<number>([NtStatus.STATUS_DISK_FULL, NtStatus.STATUS_QUOTA_EXCEEDED]);

export class FaultLog {
  private lostLogged = false;
  private sessionLogged = false;
  private shareLogged = false;
  /** lastReceiveAt() when "not answering" was logged; -1: not logged. */
  private silentSince = -1;
  /** bytesWritten() when "disk full" was logged; -1: not logged. */
  private fullAt = -1;
  private stopped = false;

  constructor(
    private readonly log: (line: string) => void,
    private readonly c: FaultContext,
    private readonly probes: FaultProbes,
  ) {}

  /** Unmounting: what fails from now on is our own doing. */
  stop(): void {
    this.stopped = true;
  }

  private get again(): string {
    return `unmount (fusermount -u ${this.c.mountpoint}) and mount again`;
  }

  /** A fault event from 'smbfuse:smb-fault'. */
  note(ev: SmbTraceEvent): void {
    if (this.stopped) return;
    const cmd = smb2CommandName(ev.command);
    if (ev.failure === 'lost') return; // reported once by connectionLost()
    if (ev.failure === 'timeout') {
      const last = this.probes.lastReceiveAt();
      if (this.silentSince >= 0 && last <= this.silentSince) return;
      this.silentSince = last;
      this.log(`${this.c.unc}: server ${this.c.hostPort} did not answer ${cmd} within ${this.c.timeoutMs / 1000} s; calls fail with ETIMEDOUT while it is silent: check that the server is up and reachable`);
      return;
    }
    const status = ev.status! >>> 0;
    const name = describeOutcome(ev);
    if (SESSION_GONE.has(status)) {
      if (this.sessionLogged) return;
      this.sessionLogged = true;
      this.log(`${this.c.unc}: the server ended the session (${name} on ${cmd}); every call now fails: ${this.again}, with a new password if it was changed`);
    } else if (SHARE_GONE.has(status)) {
      if (this.shareLogged) return;
      this.shareLogged = true;
      this.log(`${this.c.unc}: share '${this.c.share}' is gone from the server (${name} on ${cmd}); every call now fails: check the share on the server, then ${this.again}`);
    } else if (DISK_FULL.has(status)) {
      const written = this.probes.bytesWritten();
      if (this.fullAt >= 0 && written <= this.fullAt) return;
      this.fullAt = written;
      const what = status === NtStatus.STATUS_QUOTA_EXCEEDED ? 'over its quota' : 'full';
      this.log(`${this.c.unc}: the server's disk is ${what} (${name} on ${cmd}); writes fail with ${status === NtStatus.STATUS_QUOTA_EXCEEDED ? 'EDQUOT' : 'ENOSPC'} until space is freed on the server`);
    }
  }

  /** The connection closed without our asking. */
  connectionLost(why: Error | null): void {
    if (this.stopped || this.lostLogged) return;
    this.lostLogged = true;
    this.log(`${this.c.unc}: connection to ${this.c.hostPort} lost for good (${why?.message ?? 'closed'}); every call now fails with EIO: ${this.again}`);
  }
}
