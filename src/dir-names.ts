/**
 * Which names a server lists can be shown to Linux (issue 7, point 7).
 *
 * The check runs on the name after the mapposix mapping is undone
 * (nameFromSmb), because the mapping itself can produce '.' and '..'
 * (U+F029 is a period). A name is dropped when it is:
 *  - '', '.' or '..' — not a name, or one the kernel gives another meaning;
 *  - holding '/' — the kernel fails the whole readdir (EIO) on such an entry;
 *  - holding NUL — C strings end there, leaving a ghost entry under a
 *    shorter name that no lookup can find;
 *  - holding an unpaired UTF-16 surrogate — it cannot become UTF-8, so the
 *    name Linux sees would not map back to the one on the server.
 * The rest of the listing is kept.
 */
import { nameFromSmb } from './path-map.js';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The Linux form of a listed SMB name, or why there is none. */
export function linuxName(smbName: string): { name: string } | { reason: string } {
  const name = nameFromSmb(smbName);
  if (name === '' || name === '.' || name === '..') return { reason: name === '' ? 'empty name' : `a second '${name}'` };
  if (name.includes('/')) return { reason: "holds '/'" };
  if (name.includes('\0')) return { reason: 'holds NUL' };
  if (UNPAIRED_SURROGATE.test(name)) return { reason: 'holds an unpaired surrogate' };
  return { name };
}

/** Most dropped names remembered for log-once (then a last line says logging stops). */
const MAX_REMEMBERED = 1000;

/**
 * Logs each dropped name once per mount (a directory listed again does not
 * repeat the line). Names are printed JSON-escaped so control characters
 * from the server never reach a terminal raw.
 */
export class DroppedNameLog {
  private readonly seen = new Set<string>();
  private full = false;

  constructor(private readonly log: (line: string) => void) {}

  note(dir: string, smbName: string, reason: string): void {
    const key = `${dir}\0${smbName}`;
    if (this.full || this.seen.has(key)) return;
    if (this.seen.size >= MAX_REMEMBERED) {
      this.full = true;
      this.log(`skipped names: more than ${MAX_REMEMBERED}, no longer logged`);
      return;
    }
    this.seen.add(key);
    this.log(`skipped a name in ${JSON.stringify(dir)} that cannot be a Linux name (${reason}): ${JSON.stringify(smbName)}`);
  }
}
