// The load test's data: byte `off` of a file with `seed` is one byte of a
// 32-bit hash of (seed, off >> 2), so any range can be made or checked on its own.

function word(seed, k) {
  let x = (seed ^ Math.imul(k, 0x9e3779b1)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Fill `buf` with the pattern of `seed` from file offset `off`; returns `buf`. */
export function fillPattern(buf, seed, off) {
  for (let i = 0; i < buf.length; ) {
    const at = off + i;
    const w = word(seed, Math.floor(at / 4));
    for (let b = at % 4; b < 4 && i < buf.length; b++, i++) buf[i] = (w >>> (8 * b)) & 0xff;
  }
  return buf;
}
