// A group's rows while they are being measured: figures go in by row and
// column; a failed measurement leaves null and says why in the row's note.
import { log } from './proc.mjs';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export class RowSet {
  /** DEFS: [{ id, label, unit, better }] */
  constructor(group, defs) {
    this.rows = defs.map((d) => ({ group, ...d, values: {} }));
  }

  row(id) {
    const r = this.rows.find((x) => x.id === id);
    if (!r) throw new Error(`no row ${id}`);
    return r;
  }

  set(id, column, value) { this.row(id).values[column] = value; }

  note(id, text) {
    const r = this.row(id);
    r.note = r.note ? `${r.note}; ${text}` : text;
  }

  /**
   * Runs FN, which fills column COLUMN of rows IDS; if it throws, those of the
   * rows still without a figure get null and the error goes to the log and notes.
   */
  async attempt(ids, column, fn) {
    try {
      await fn();
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
      log(`${column} ${ids.join(',')}: ${msg}`);
      let noted = false;
      for (const id of ids) {
        if (this.row(id).values[column] !== undefined) continue;
        this.set(id, column, null);
        if (!noted) this.note(id, `${column} failed: ${msg}`);
        noted = true;
      }
    }
  }
}

/** MB/s (10^6 bytes per second) of BYTES moved in SECS. */
export const mbps = (bytes, secs) => bytes / 1e6 / secs;
