/**
 * The on-disk record of one cache object (after cachefiles' xattr + the
 * netfs content map): which file it holds (an opaque key and version the
 * filesystem gives), the file size that version has, the extent size, and a
 * bitmap of the extents whose bytes are in the data file. Extent i covers
 * [i·extent, min((i+1)·extent, size)); the last one may be short.
 *
 * Encoded as one line of JSON followed by its SHA-256, so a map that was
 * cut short or scribbled on is recognised and treated as no map at all.
 */
import { createHash } from 'node:crypto';

export const FSCACHE_MAP_MAGIC = 'smbfuse-fscache-map-1';

export interface FscacheMapRecord {
  /** Opaque identity (e.g. server, share, file id); compared, never parsed. */
  key: string;
  /** Opaque version of the file's data (e.g. file id, change and write times, size). */
  version: string;
  /** File size in bytes that the version has. */
  size: number;
  /** Bytes per extent. */
  extent: number;
  /** Bit i set: extent i is in the data file and was synced before this map was written. */
  present: Uint8Array;
}

/** Bytes of bitmap for a file of `size` in extents of `extent`. */
export function bitmapBytes(size: number, extent: number): number {
  return Math.ceil(Math.ceil(size / extent) / 8);
}

export function testBit(map: Uint8Array, i: number): boolean {
  return (map[i >> 3]! & (1 << (i & 7))) !== 0;
}

export function setBit(map: Uint8Array, i: number): void {
  map[i >> 3]! |= 1 << (i & 7);
}

export function clearBit(map: Uint8Array, i: number): void {
  map[i >> 3]! &= ~(1 << (i & 7));
}

/** Number of set bits. */
export function countBits(map: Uint8Array): number {
  let n = 0;
  for (const b of map) {
    let v = b;
    while (v) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function encodeMap(r: FscacheMapRecord): Buffer {
  const body = JSON.stringify({
    magic: FSCACHE_MAP_MAGIC,
    key: r.key,
    version: r.version,
    size: r.size,
    extent: r.extent,
    present: Buffer.from(r.present.buffer, r.present.byteOffset, r.present.byteLength).toString('base64'),
  });
  return Buffer.from(`${body}\n${digest(body)}\n`);
}

/** The record in `buf`, or null if it is not a whole, intact, sensible map. */
export function decodeMap(buf: Buffer): FscacheMapRecord | null {
  const text = buf.toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0) return null;
  const body = text.slice(0, nl);
  if (text.slice(nl + 1) !== `${digest(body)}\n`) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return null;
  }
  const { magic, key, version, size, extent, present } = o;
  if (magic !== FSCACHE_MAP_MAGIC || typeof key !== 'string' || typeof version !== 'string' || typeof present !== 'string') return null;
  if (!Number.isSafeInteger(size) || (size as number) < 0 || !Number.isSafeInteger(extent) || (extent as number) < 4096) return null;
  const bits = new Uint8Array(Buffer.from(present, 'base64'));
  if (bits.length !== bitmapBytes(size as number, extent as number)) return null;
  return { key, version, size: size as number, extent: extent as number, present: bits };
}
