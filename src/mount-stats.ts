/**
 * The statistics of one mount as `smbfuse stats` shows them: the SMB
 * connection's figures (transport/stats.ts, with credits and reconnects)
 * and the page cache's hits and misses (netfs). The same object is the
 * `--json` output, and the table is printed from it.
 */
import type { FscacheStats } from '../netfs/fscache-store.js';
import type { PageCacheStats } from '../netfs/index.js';
import type { SmbClientStats } from '../transport/index.js';

export interface MountStats {
  unc: string;
  mountpoint: string;
  pid: number;
  dialect: string;
  uptimeSeconds: number;
  smb: SmbClientStats;
  cache: {
    /** Reads that found their folio in the cache, or found nothing and went to the server. */
    hits: number;
    misses: number;
    /** Reads that found a folio being filled and waited for it. */
    waits: number;
    /** hits / (hits + misses + waits); null before any read. */
    hitRatio: number | null;
    bytes: number;
    dirtyBytes: number;
    evictions: number;
    /** Reads answered with the cached bytes themselves, no copy (read-lending.ts); and those still on their way. */
    lentAnswers: number;
    lentPending: number;
  };
  /** Lookups the binding answered from stats a listing primed it with, without JavaScript (attr-epoch.ts). */
  primedLookups: number;
  /** The disk cache (-o fsc), when the mount has one. */
  fsc?: FscacheStats;
}

export function mountStats(
  m: { unc: string; mountpoint: string; dialect: string; startedAt: number },
  smb: SmbClientStats,
  cache: PageCacheStats,
  fsc?: FscacheStats,
  lent?: { answers: number; pending: number },
  primedLookups = 0,
): MountStats {
  const lookups = cache.hits + cache.misses + cache.waits;
  return {
    unc: m.unc,
    mountpoint: m.mountpoint,
    pid: process.pid,
    dialect: m.dialect,
    uptimeSeconds: Math.round((Date.now() - m.startedAt) / 1000),
    smb,
    cache: {
      hits: cache.hits,
      misses: cache.misses,
      waits: cache.waits,
      hitRatio: lookups ? cache.hits / lookups : null,
      bytes: cache.bytes,
      dirtyBytes: cache.dirtyBytes,
      evictions: cache.evictions,
      lentAnswers: lent?.answers ?? 0,
      lentPending: lent?.pending ?? 0,
    },
    primedLookups,
    ...(fsc ? { fsc } : {}),
  };
}

/** The table `smbfuse stats MOUNTPOINT` prints (numbers as in the JSON). */
export function formatStats(s: MountStats): string {
  const out: string[] = [];
  out.push(`${s.unc} on ${s.mountpoint} (pid ${s.pid}, SMB ${s.dialect}, up ${s.uptimeSeconds} s)`);
  const head = ['command', 'sent', 'errors', 'mean ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'];
  const rows = [...s.smb.commands, { command: 'total', ...s.smb.total }].map((c) => [
    c.command, String(c.sent), String(c.errors), String(c.meanMs), String(c.p50Ms), String(c.p90Ms), String(c.p99Ms), String(c.maxMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  out.push(line(head), ...rows.map(line));
  const m = s.smb;
  out.push(`bytes read ${m.bytesRead}, written ${m.bytesWritten}`);
  out.push(`requests in flight ${m.requestsInFlight} (most ${m.maxRequestsInFlight}), credits in flight ${m.creditsInFlight}, credits available ${m.creditsAvailable}`);
  out.push(`timeouts ${m.timeouts}, reconnects ${m.reconnects}${m.lastReconnectMs ? ` (last took ${m.lastReconnectMs} ms)` : ''}, connection ${m.connected ? 'up' : 'down (reconnecting)'}`);
  const ratio = s.cache.hitRatio === null ? '-' : `${(s.cache.hitRatio * 100).toFixed(1)}%`;
  out.push(`page cache: hits ${s.cache.hits}, misses ${s.cache.misses}, waits ${s.cache.waits}, hit ratio ${ratio}, bytes ${s.cache.bytes} (dirty ${s.cache.dirtyBytes}), evictions ${s.cache.evictions}, answered without a copy ${s.cache.lentAnswers}`);
  out.push(`lookups answered from a listing without a hop to JavaScript ${s.primedLookups}`);
  const f = s.fsc;
  if (f) {
    out.push(`disk cache: from cache ${f.bytesFromCache}, from server ${f.bytesFromServer}, written ${f.bytesWritten}, culled ${f.bytesCulled}, dropped ${f.bytesDropped}, used ${f.bytesUsed} of ${f.maxBytes} in ${f.objects} files`);
  }
  return out.join('\n');
}
