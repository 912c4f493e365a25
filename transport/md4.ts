/**
 * MD4 message digest, RFC 1320.
 *
 * NTLM's NT hash (NTOWFv1, MS-NLMP 3.3.1) is MD4 of the UTF-16LE password, and
 * Node 20's OpenSSL refuses MD4 without the legacy provider, so it is written
 * here. Not for any other use: MD4 is broken as a general-purpose hash.
 */

/** F, G and H of RFC 1320 section 3.4, on 32-bit words. */
function f(x: number, y: number, z: number): number {
  return (x & y) | (~x & z);
}
function g(x: number, y: number, z: number): number {
  return (x & y) | (x & z) | (y & z);
}
function h(x: number, y: number, z: number): number {
  return x ^ y ^ z;
}

/** 32-bit left rotation. */
function rotl(v: number, s: number): number {
  return (v << s) | (v >>> (32 - s));
}

/** Word order and shift amounts of rounds 2 and 3 (RFC 1320 section 3.4). */
const ROUND2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const ROUND3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;
const ROUND1_SHIFTS = [3, 7, 11, 19] as const;
const ROUND2_SHIFTS = [3, 5, 9, 13] as const;
const ROUND3_SHIFTS = [3, 9, 11, 15] as const;

/**
 * Returns the 16-byte MD4 digest of `data`.
 */
export function md4(data: Buffer): Buffer {
  // Padding (RFC 1320 3.1-3.2): 0x80, zeros to 56 mod 64, then the bit
  // length as a 64-bit little-endian integer.
  const bitLen = BigInt(data.length) * 8n;
  const padded = Buffer.alloc((((data.length + 8) >> 6) + 1) * 64);
  data.copy(padded, 0);
  padded[data.length] = 0x80;
  padded.writeBigUInt64LE(bitLen & 0xffffffffffffffffn, padded.length - 8);

  const state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const x = new Uint32Array(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readUInt32LE(off + i * 4);
    processBlock(state, x);
  }
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(state[i]!, i * 4);
  return out;
}

/** Runs the three rounds of RFC 1320 section 3.4 on one 16-word block. */
function processBlock(state: Uint32Array, x: Uint32Array): void {
  const v = [state[0]!, state[1]!, state[2]!, state[3]!];
  // Each step updates v[(4 - i % 4) % 4] from the other three: a, d, c, b.
  const step = (i: number, fn: (a: number, b: number, c: number) => number, k: number, add: number, s: number): void => {
    const ia = (4 - (i % 4)) % 4;
    const a = v[ia]!;
    const b = v[(ia + 1) % 4]!;
    const c = v[(ia + 2) % 4]!;
    const d = v[(ia + 3) % 4]!;
    v[ia] = rotl((a + fn(b, c, d) + x[k]! + add) | 0, s) >>> 0;
  };
  for (let i = 0; i < 16; i++) step(i, f, i, 0, ROUND1_SHIFTS[i % 4]!);
  for (let i = 0; i < 16; i++) step(i, g, ROUND2_ORDER[i]!, 0x5a827999, ROUND2_SHIFTS[i % 4]!);
  for (let i = 0; i < 16; i++) step(i, h, ROUND3_ORDER[i]!, 0x6ed9eba1, ROUND3_SHIFTS[i % 4]!);
  for (let i = 0; i < 4; i++) state[i] = (state[i]! + v[i]!) >>> 0;
}
