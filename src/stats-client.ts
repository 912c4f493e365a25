/**
 * `smbfuse stats MOUNTPOINT [--json]`: read the mount's snapshot from its
 * statistics socket (stats-socket.ts) and print it as a table or as JSON.
 * Never touches the mount itself, so a mount whose server hangs still
 * answers. Resolves to the exit status; errors are one line on stderr.
 */
import net from 'node:net';
import { formatStats, type MountStats } from './mount-stats.js';
import { statsSocketPath } from './stats-socket.js';

const USAGE = 'usage: smbfuse stats MOUNTPOINT [--json]';
const READ_BOUND_MS = 5000;
/** A snapshot is a few KiB; anything far larger is not ours. */
const MAX_BYTES = 4 * 1024 * 1024;

function fetch(sock: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const s = net.connect(sock);
    s.setTimeout(READ_BOUND_MS, () => s.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
    s.on('data', (d: Buffer) => {
      n += d.length;
      if (n > MAX_BYTES) s.destroy(Object.assign(new Error('answer too large'), { code: 'EMSGSIZE' }));
      else chunks.push(d);
    });
    s.on('error', reject);
    s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function runStats(args: readonly string[]): Promise<number> {
  const json = args.includes('--json');
  const rest = args.filter((a) => a !== '--json');
  if (rest.length !== 1 || rest[0]!.startsWith('-')) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  const mnt = rest[0]!;
  const sock = statsSocketPath(mnt, process.getuid?.() ?? 0, process.env);
  let text: string;
  try {
    text = await fetch(sock);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? `is not an smbfuse mount of this user (no statistics socket ${sock})`
      : code === 'ECONNREFUSED' ? `is not an smbfuse mount any more (its daemon is gone; stale socket ${sock})`
      : code === 'EACCES' ? `: cannot read its statistics (${sock}: EACCES)`
      : `: cannot read its statistics (${code ?? (e as Error).message})`;
    process.stderr.write(`smbfuse: ${mnt}${why.startsWith(':') ? '' : ' '}${why}\n`);
    return 1;
  }
  let s: MountStats;
  try {
    s = JSON.parse(text) as MountStats;
    if (typeof s?.smb?.total?.sent !== 'number') throw new Error('not a snapshot');
  } catch {
    process.stderr.write(`smbfuse: ${mnt}: the statistics socket ${sock} did not answer with statistics\n`);
    return 1;
  }
  process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatStats(s) + '\n');
  return 0;
}
