/**
 * Cryptographic building blocks of SMB2/3 security: HMAC-SHA256, AES-CMAC
 * (RFC 4493), the SP800-108 counter-mode KDF with HMAC-SHA256 (MS-SMB2
 * 3.1.4.2), the SMB 3.x session key set (MS-SMB2 3.2.5.3.1) and the SMB 3.1.1
 * pre-authentication integrity hash (MS-SMB2 3.2.5.2, SHA-512).
 *
 * Everything works on lists of buffers so a message split into fragments
 * (header, body, payload slices) can be authenticated without being copied
 * into one buffer first.
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { Dialect } from './types.js';

const BLOCK = 16;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** HMAC-SHA256 of the concatenation of `parts` under `key` (32 bytes). */
export function hmacSha256(key: Buffer, ...parts: Buffer[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const p of parts) mac.update(p);
  return mac.digest();
}

/** One AES block encryption (ECB of a single 16-byte block). */
function aesBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv(aesEcbName(key), key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** OpenSSL cipher name for ECB with this key length. */
function aesEcbName(key: Buffer): string {
  if (key.length === 16) return 'aes-128-ecb';
  if (key.length === 32) return 'aes-256-ecb';
  throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
}

/** OpenSSL cipher name for CBC with this key length. */
function aesCbcName(key: Buffer): string {
  return key.length === 16 ? 'aes-128-cbc' : 'aes-256-cbc';
}

/**
 * Doubling in GF(2^128) as RFC 4493 section 2.3 uses it: shift the block
 * left by one bit and, if the bit shifted out was 1, XOR the last byte with
 * the constant Rb = 0x87.
 */
function dbl(block: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    const next = i + 1 < BLOCK ? block[i + 1]! : 0;
    out[i] = ((block[i]! << 1) | (next >>> 7)) & 0xff;
  }
  if ((block[0]! & 0x80) !== 0) out[BLOCK - 1] = out[BLOCK - 1]! ^ 0x87;
  return out;
}

/** Subkeys K1 and K2 of RFC 4493 section 2.3. */
export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const l = aesBlock(key, ZERO_BLOCK);
  const k1 = dbl(l);
  return { k1, k2: dbl(k1) };
}

/**
 * AES-CMAC (RFC 4493) of the concatenation of `parts` under a 16-byte key
 * (32-byte keys give AES-256-CMAC). Returns the 16-byte MAC.
 *
 * All blocks but the last go through one AES-CBC pass with a zero IV, fed
 * part by part; the last block (complete or padded) is then XORed with K1
 * or K2 and the last CBC output and encrypted once more. Parts are never
 * concatenated.
 */
export function aesCmac(key: Buffer, parts: readonly Buffer[]): Buffer {
  let total = 0;
  for (const p of parts) total += p.length;
  // Bytes [0, lastStart) are the leading complete blocks; the rest, between
  // 0 and 16 bytes (exactly 16 when the message is a non-empty multiple of
  // 16), is the last block M_n of RFC 4493 2.4.
  const lastStart = total === 0 ? 0 : Math.floor((total - 1) / BLOCK) * BLOCK;
  const last = Buffer.alloc(BLOCK);
  let lastLen = 0;
  let chain: Buffer = ZERO_BLOCK;
  const cbc = lastStart > 0 ? createCipheriv(aesCbcName(key), key, ZERO_BLOCK) : null;
  cbc?.setAutoPadding(false);
  let pos = 0;
  for (const p of parts) {
    const lead = Math.min(p.length, Math.max(0, lastStart - pos));
    if (lead > 0 && cbc !== null) {
      const out = cbc.update(lead === p.length ? p : p.subarray(0, lead));
      if (out.length >= BLOCK) chain = out.subarray(out.length - BLOCK);
    }
    if (lead < p.length) {
      p.copy(last, lastLen, lead);
      lastLen += p.length - lead;
    }
    pos += p.length;
  }
  if (cbc !== null) {
    const out = cbc.final();
    if (out.length >= BLOCK) chain = out.subarray(out.length - BLOCK);
  }
  const { k1, k2 } = cmacSubkeys(key);
  let sub = k1;
  if (lastLen < BLOCK) {
    last[lastLen] = 0x80;
    sub = k2;
  }
  for (let i = 0; i < BLOCK; i++) last[i] = last[i]! ^ sub[i]! ^ chain[i]!;
  return aesBlock(key, last);
}

/**
 * SP800-108 KDF in counter mode with HMAC-SHA256 as the PRF, as MS-SMB2
 * 3.1.4.2 uses it: r = 32, each block is
 * PRF(key, [i]_32be || label || 0x00 || context || [L]_32be) for i = 1, 2, …,
 * and the output is the first L = `bits` bits. SMB's labels already end in
 * a NUL of their own; the 0x00 separator is added here.
 */
export function sp800108Kdf(key: Buffer, label: Buffer, context: Buffer, bits = 128): Buffer {
  if (bits <= 0 || bits % 8 !== 0) throw new RangeError(`KDF output must be a positive number of bytes, got ${bits} bits`);
  const bytes = bits / 8;
  const lBuf = Buffer.alloc(4);
  lBuf.writeUInt32BE(bits, 0);
  const sep = Buffer.alloc(1);
  const out: Buffer[] = [];
  for (let i = 1, have = 0; have < bytes; i++) {
    const iBuf = Buffer.alloc(4);
    iBuf.writeUInt32BE(i, 0);
    const block = hmacSha256(key, iBuf, label, sep, context, lBuf);
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, bytes);
}

/** The keys of one SMB session, named from the client's side. */
export interface Smb3Keys {
  /** Signs and verifies messages in both directions. */
  signingKey: Buffer;
  /** Encrypts client → server messages (the server's "decryption" key). */
  encryptionKey: Buffer;
  /** Decrypts server → client messages. */
  decryptionKey: Buffer;
  /** Handed to applications above SMB (e.g. RPC over named pipes). */
  applicationKey: Buffer;
}

/** ASCII string with its terminating NUL, as the MS-SMB2 labels are given. */
function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'latin1');
}

/** Label/context strings of MS-SMB2 3.2.5.3.1 for dialects 3.0 and 3.0.2. */
const SMB30 = {
  signing: [cstr('SMB2AESCMAC'), cstr('SmbSign')],
  encryption: [cstr('SMB2AESCCM'), cstr('ServerIn ')],
  decryption: [cstr('SMB2AESCCM'), cstr('ServerOut')],
  application: [cstr('SMB2APP'), cstr('SmbRpc')],
} as const;

/** Labels of MS-SMB2 3.2.5.3.1 for dialect 3.1.1 (context: preauth hash). */
const SMB311 = {
  signing: cstr('SMBSigningKey'),
  encryption: cstr('SMBC2SCipherKey'),
  decryption: cstr('SMBS2CCipherKey'),
  application: cstr('SMBAppKey'),
} as const;

/**
 * Derives a session's keys from its session key (MS-SMB2 3.2.5.3.1).
 *
 * The session key is the GSS key cut or zero-padded to 16 bytes for signing
 * and the application key; for a 256-bit cipher (3.1.1 only) the cipher
 * keys are derived from the full key with L = 256. For 3.1.1 `preauthHash`
 * (64 bytes, the session's final PreauthIntegrityHashValue) is the context
 * and is required.
 *
 * Dialects 2.0.2 and 2.1 derive nothing: the signing key is the 16-byte
 * session key itself and the other three keys are empty buffers (those
 * dialects have no encryption).
 */
export function deriveSmb3Keys(
  sessionKey: Buffer,
  dialect: number,
  preauthHash: Buffer | null,
  cipherKeyBits: 128 | 256 = 128,
): Smb3Keys {
  const key16 = Buffer.alloc(16);
  sessionKey.copy(key16, 0, 0, Math.min(16, sessionKey.length));
  if (dialect < Dialect.SMB3_0) {
    return { signingKey: key16, encryptionKey: Buffer.alloc(0), decryptionKey: Buffer.alloc(0), applicationKey: Buffer.alloc(0) };
  }
  const cipherKey = cipherKeyBits === 256 ? sessionKey : key16;
  if (dialect === Dialect.SMB3_1_1) {
    if (preauthHash === null || preauthHash.length !== 64) {
      throw new RangeError('SMB 3.1.1 key derivation needs the 64-byte pre-authentication hash');
    }
    return {
      signingKey: sp800108Kdf(key16, SMB311.signing, preauthHash),
      encryptionKey: sp800108Kdf(cipherKey, SMB311.encryption, preauthHash, cipherKeyBits),
      decryptionKey: sp800108Kdf(cipherKey, SMB311.decryption, preauthHash, cipherKeyBits),
      applicationKey: sp800108Kdf(key16, SMB311.application, preauthHash),
    };
  }
  return {
    signingKey: sp800108Kdf(key16, ...SMB30.signing),
    encryptionKey: sp800108Kdf(cipherKey, ...SMB30.encryption, cipherKeyBits),
    decryptionKey: sp800108Kdf(cipherKey, ...SMB30.decryption, cipherKeyBits),
    applicationKey: sp800108Kdf(key16, ...SMB30.application),
  };
}

/** Initial value of the SMB 3.1.1 pre-authentication integrity hash. */
export const PREAUTH_HASH_INITIAL: Buffer = Buffer.alloc(64);

/**
 * One step of the SMB 3.1.1 pre-authentication integrity hash (MS-SMB2
 * 3.2.5.2 / 3.3.5.4): SHA-512(prev || message), where `message` is the whole
 * SMB2 message (header onwards, no transport length prefix), given as one
 * buffer or as its fragments in order.
 */
export function preauthHashUpdate(prev: Buffer, message: Buffer | readonly Buffer[]): Buffer {
  const h = createHash('sha512').update(prev);
  if (Buffer.isBuffer(message)) h.update(message);
  else for (const m of message) h.update(m);
  return h.digest();
}
