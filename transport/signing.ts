/**
 * SMB2 message signing, MS-SMB2 3.1.4.1 (sign) and 3.2.5.1.3 (verify).
 *
 * A message is given as its fragments in wire order: fragments[0] starts
 * with the 64-byte SMB2 header, the rest are body parts and payload slices.
 * The signature covers the whole message with the header's Signature field
 * (bytes 48..63) taken as zero; the fragments are never concatenated — only
 * the 64-byte header is copied, to zero that field.
 *
 *  - 'hmac-sha256' (2.0.2, 2.1): HMAC-SHA256 under the session key, first
 *    16 bytes.
 *  - 'aes-cmac' (3.0, 3.0.2, and 3.1.1 unless negotiated otherwise):
 *    AES-128-CMAC under the derived signing key.
 *  - 'aes-gmac' (3.1.1 with SMB2_SIGNING_CAPABILITIES): AES-128-GCM with an
 *    empty plaintext and the message as AAD; the tag is the signature. The
 *    12-byte nonce is the MessageId (8 bytes, little-endian) followed by a
 *    32-bit little-endian word whose bit 0 is set when the message is a
 *    server response (SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 when it is a
 *    CANCEL request; the other bits are zero.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { aesCmac } from './crypto.js';

export type SigningAlgo = 'hmac-sha256' | 'aes-cmac' | 'aes-gmac';

/** SigningAlgorithms ids of the SMB2_SIGNING_CAPABILITIES negotiate context (MS-SMB2 2.2.3.1.7). */
export const SigningAlgorithmId = {
  HMAC_SHA256: 0x0000,
  AES_CMAC: 0x0001,
  AES_GMAC: 0x0002,
} as const;
export type SigningAlgorithmId = (typeof SigningAlgorithmId)[keyof typeof SigningAlgorithmId];

/** Size of the SMB2 header and place of its fields used here (MS-SMB2 2.2.1). */
export const SMB2_HEADER_SIZE = 64;
const OFF_COMMAND = 12;
const OFF_FLAGS = 16;
const OFF_MESSAGE_ID = 24;
export const OFF_SIGNATURE = 48;
export const SIGNATURE_SIZE = 16;
const SMB2_FLAGS_SERVER_TO_REDIR = 0x00000001;
const SMB2_CANCEL = 0x000c;

/** Maps a SigningAlgorithmId from the negotiate context to an algorithm. */
export function signingAlgoFromId(id: number): SigningAlgo {
  switch (id) {
    case SigningAlgorithmId.HMAC_SHA256:
      return 'hmac-sha256';
    case SigningAlgorithmId.AES_CMAC:
      return 'aes-cmac';
    case SigningAlgorithmId.AES_GMAC:
      return 'aes-gmac';
    default:
      throw new RangeError(`unknown SMB2 signing algorithm id 0x${id.toString(16)}`);
  }
}

/**
 * The default algorithm of a dialect when none was negotiated: HMAC-SHA256
 * below 3.0, AES-CMAC from 3.0 on (MS-SMB2 3.1.4.1).
 */
export function defaultSigningAlgo(dialect: number): SigningAlgo {
  return dialect >= 0x0300 ? 'aes-cmac' : 'hmac-sha256';
}

/**
 * The message as the signature sees it: a copy of the header with the
 * Signature field zeroed, then the rest of fragments[0] and the others.
 */
function signedView(fragments: readonly Buffer[]): Buffer[] {
  const first = fragments[0];
  if (first === undefined || first.length < SMB2_HEADER_SIZE) {
    throw new RangeError('the first fragment must hold the whole 64-byte SMB2 header');
  }
  const header = Buffer.from(first.subarray(0, SMB2_HEADER_SIZE));
  header.fill(0, OFF_SIGNATURE, OFF_SIGNATURE + SIGNATURE_SIZE);
  const out: Buffer[] = [header];
  if (first.length > SMB2_HEADER_SIZE) out.push(first.subarray(SMB2_HEADER_SIZE));
  for (let i = 1; i < fragments.length; i++) out.push(fragments[i]!);
  return out;
}

/** The AES-GMAC nonce of MS-SMB2 3.1.4.1, read from the header. */
export function gmacNonce(header: Buffer): Buffer {
  const nonce = Buffer.alloc(12);
  header.copy(nonce, 0, OFF_MESSAGE_ID, OFF_MESSAGE_ID + 8);
  const isResponse = (header.readUInt32LE(OFF_FLAGS) & SMB2_FLAGS_SERVER_TO_REDIR) !== 0;
  const isCancel = header.readUInt16LE(OFF_COMMAND) === SMB2_CANCEL;
  nonce.writeUInt32LE((isResponse ? 1 : 0) | (isCancel ? 2 : 0), 8);
  return nonce;
}

/** GCM cipher name for this key length. */
function gcmName(key: Buffer): 'aes-128-gcm' | 'aes-256-gcm' {
  if (key.length === 16) return 'aes-128-gcm';
  if (key.length === 32) return 'aes-256-gcm';
  throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
}

/**
 * Computes the 16-byte signature of a message given as fragments, with the
 * header's Signature field treated as zero. Does not modify the fragments.
 */
export function computeSignature(algo: SigningAlgo, key: Buffer, fragments: readonly Buffer[]): Buffer {
  const parts = signedView(fragments);
  switch (algo) {
    case 'hmac-sha256': {
      const mac = createHmac('sha256', key);
      for (const p of parts) mac.update(p);
      return mac.digest().subarray(0, SIGNATURE_SIZE);
    }
    case 'aes-cmac':
      return aesCmac(key, parts);
    case 'aes-gmac': {
      const gcm = createCipheriv(gcmName(key), key, gmacNonce(parts[0]!), { authTagLength: 16 });
      for (const p of parts) if (p.length > 0) gcm.setAAD(p);
      gcm.final();
      return gcm.getAuthTag();
    }
  }
}

/**
 * Signs a message in place: computes its signature and writes it into
 * fragments[0] at offset 48. The caller sets SMB2_FLAGS_SIGNED in the
 * header beforehand (the flag is covered by the signature). Returns the
 * signature.
 */
export function signMessage(algo: SigningAlgo, key: Buffer, fragments: readonly Buffer[]): Buffer {
  const sig = computeSignature(algo, key, fragments);
  sig.copy(fragments[0]!, OFF_SIGNATURE);
  return sig;
}

/**
 * Checks a received message's signature (constant-time comparison).
 * Returns false, never throws, on a mismatch; throws only when fragments[0]
 * is shorter than a header.
 */
export function verifyMessage(algo: SigningAlgo, key: Buffer, fragments: readonly Buffer[]): boolean {
  const want = computeSignature(algo, key, fragments);
  const got = fragments[0]!.subarray(OFF_SIGNATURE, OFF_SIGNATURE + SIGNATURE_SIZE);
  return timingSafeEqual(want, got);
}
