/**
 * 16-byte identifiers that must be unique, not secret: lease keys and
 * durable CreateGuids, one per open. Drawn from the CSPRNG 4 KiB at a time,
 * since a call per open showed in the profile of a small-file read loop.
 */
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let next = 0;

/** A fresh random 16-byte identifier (a copy the caller owns). */
export function uniqueId16(): Buffer {
  if (next + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    next = 0;
  }
  const id = Buffer.from(pool.subarray(next, next + 16));
  next += 16;
  return id;
}
