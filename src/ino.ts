/**
 * The inode number of a file whose server gives no file id (impacket's
 * listings carry 0), or none yet (a file created here whose CREATE is
 * deferred): a 64-bit hash of its path with the top bit set. With
 * use_ino a 0 would reach readdir as d_ino 0, which glibc skips as a deleted
 * entry, so every file needs some number; the top bit keeps these apart from
 * real ids, which seldom use it.
 */
export function inoFromPath(path: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(path)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h | (1n << 63n);
}
