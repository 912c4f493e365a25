/**
 * SMB 3.x encryption: the TRANSFORM_HEADER (MS-SMB2 2.2.41) around an
 * AES-CCM or AES-GCM encrypted message (3.1.4.3 encrypting, 3.2.5.1.1
 * decrypting), the ciphers of the 3.1.1 ENCRYPTION_CAPABILITIES context
 * (2.2.3.1.2), and per-session nonces that never repeat.
 *
 * Wire form of an encrypted message:
 *    0 ProtocolId FD 'S' 'M' 'B'   4 Signature = AEAD tag (16)
 *   20 Nonce (16: 11 bytes used by CCM, 12 by GCM, the rest zero)
 *   36 OriginalMessageSize        40 Reserved (2)
 *   42 Flags (3.1.1: 0x0001 Encrypted; 3.0.x: EncryptionAlgorithm 0x0001)
 *   44 SessionId (8)              52 ciphertext of the whole SMB2 message
 * The additional authenticated data is the header from the Nonce on
 * (bytes 20..51); the key is the session's EncryptionKey (client → server)
 * or DecryptionKey (server → client).
 *
 * GCM streams: a message given as fragments (header, body, payload slices)
 * goes through cipher.update() fragment by fragment into the output buffer,
 * and a received frame is decrypted chunk by chunk as it sits in the receive
 * queue; nothing is released before final() has verified the tag. Node's
 * CCM takes its data in one update() call only, so CCM gathers first.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherCCM, type CipherGCM, type DecipherCCM, type DecipherGCM } from 'node:crypto';
import { deriveSmb3Keys } from './crypto.js';
import { SmbProtocolError } from './errors.js';
import { decodeTransformHeader, encodeTransformHeader, SMB2_TRANSFORM_HEADER_SIZE, TRANSFORM_FLAG_ENCRYPTED, type TransformHeader } from './pdu/header.js';
import { Cipher } from './pdu/negotiate.js';

export { Cipher };

const TAG = 16;
/** Bytes 20..51 of the transform header are authenticated, not encrypted. */
const AAD_START = 20;

/** What a cipher id means for Node's crypto. */
export interface CipherSpec {
  id: number;
  /** OpenSSL name, e.g. 'aes-128-gcm'. */
  name: 'aes-128-ccm' | 'aes-128-gcm' | 'aes-256-ccm' | 'aes-256-gcm';
  keyBits: 128 | 256;
  /** 11 for CCM, 12 for GCM. */
  nonceBytes: 11 | 12;
  gcm: boolean;
}

const SPECS: Record<number, CipherSpec> = {
  [Cipher.AES_128_CCM]: { id: Cipher.AES_128_CCM, name: 'aes-128-ccm', keyBits: 128, nonceBytes: 11, gcm: false },
  [Cipher.AES_128_GCM]: { id: Cipher.AES_128_GCM, name: 'aes-128-gcm', keyBits: 128, nonceBytes: 12, gcm: true },
  [Cipher.AES_256_CCM]: { id: Cipher.AES_256_CCM, name: 'aes-256-ccm', keyBits: 256, nonceBytes: 11, gcm: false },
  [Cipher.AES_256_GCM]: { id: Cipher.AES_256_GCM, name: 'aes-256-gcm', keyBits: 256, nonceBytes: 12, gcm: true },
};

/** The ciphers a 3.1.1 client offers, most preferred first. */
export const OFFERED_CIPHERS: readonly number[] = [Cipher.AES_128_GCM, Cipher.AES_128_CCM, Cipher.AES_256_GCM, Cipher.AES_256_CCM];

/**
 * The ciphers this client offers: OFFERED_CIPHERS, or for benchmarks and
 * tests the list in SMBFUSE_TEST_CIPHERS (names such as `aes-256-gcm`,
 * comma-separated, in order of preference).
 */
export function offeredCiphers(env: Record<string, string | undefined> = process.env): number[] {
  const v = env['SMBFUSE_TEST_CIPHERS'];
  if (!v) return [...OFFERED_CIPHERS];
  return v.split(',').map((n) => {
    const s = Object.values(SPECS).find((x) => x.name === n.trim().toLowerCase());
    if (!s) throw new RangeError(`SMBFUSE_TEST_CIPHERS: unknown cipher '${n}'`);
    return s.id;
  });
}

/** The spec of a cipher id; throws SmbProtocolError for an id we do not know. */
export function cipherSpec(id: number): CipherSpec {
  const s = SPECS[id];
  if (!s) throw new SmbProtocolError(`server chose unknown cipher 0x${id.toString(16).padStart(4, '0')}`);
  return s;
}

/** Name as users write it (AES-128-GCM …). */
export function cipherName(id: number): string {
  return SPECS[id]?.name.toUpperCase() ?? `cipher 0x${id.toString(16)}`;
}

/** A transform frame being decrypted: feed the ciphertext in order, then finish. */
export interface TransformOpener {
  readonly header: TransformHeader;
  /** Ciphertext bytes (the frame after the 52-byte header), in order, any split. */
  update(chunk: Buffer): void;
  /** Verify the tag and return the plaintext; throws SmbProtocolError if it does not verify. */
  final(): Buffer;
}

/**
 * The encryption state of one session: its cipher, both keys and the nonce
 * counter. Nonces are a random prefix (3 bytes for CCM, 4 for GCM) followed
 * by a 64-bit little-endian counter that only grows, so no nonce repeats
 * under one key.
 */
export class SessionCipher {
  readonly spec: CipherSpec;
  private counter = 0n;
  private readonly prefix: Buffer;

  constructor(
    cipherId: number,
    readonly sessionId: bigint,
    private readonly encryptionKey: Buffer,
    private readonly decryptionKey: Buffer,
  ) {
    this.spec = cipherSpec(cipherId);
    const kb = this.spec.keyBits / 8;
    if (encryptionKey.length !== kb || decryptionKey.length !== kb) {
      throw new RangeError(`${this.spec.name} needs ${kb}-byte keys`);
    }
    this.prefix = randomBytes(this.spec.nonceBytes - 8);
  }

  /** The next nonce (nonceBytes long). */
  nextNonce(): Buffer {
    const n = Buffer.allocUnsafe(this.spec.nonceBytes);
    this.prefix.copy(n, 0);
    n.writeBigUInt64LE(this.counter, this.prefix.length);
    this.counter++;
    if (this.counter >= 0xffffffffffffffffn) throw new SmbProtocolError('nonce space of this session is used up');
    return n;
  }

  /**
   * Encrypt a message given as fragments into one new buffer: `reserve`
   * leading bytes left for the caller (the 4-byte length prefix), then the
   * transform header, then the ciphertext. `nonce` is for test vectors only.
   */
  seal(fragments: readonly Buffer[], reserve = 0, nonce: Buffer = this.nextNonce()): Buffer {
    let len = 0;
    for (const f of fragments) len += f.length;
    const out = Buffer.allocUnsafe(reserve + SMB2_TRANSFORM_HEADER_SIZE + len);
    const th = out.subarray(reserve, reserve + SMB2_TRANSFORM_HEADER_SIZE);
    encodeTransformHeader(
      { signature: Buffer.alloc(TAG), nonce, originalMessageSize: len, flags: TRANSFORM_FLAG_ENCRYPTED, sessionId: this.sessionId },
      th,
      0,
    );
    const aad = th.subarray(AAD_START);
    const ivNonce = nonce.subarray(0, this.spec.nonceBytes);
    let pos = reserve + SMB2_TRANSFORM_HEADER_SIZE;
    let tag: Buffer;
    if (this.spec.gcm) {
      const c = createCipheriv(this.spec.name as 'aes-128-gcm', this.encryptionKey, ivNonce, { authTagLength: TAG }) as CipherGCM;
      c.setAAD(aad);
      for (const f of fragments) pos += c.update(f).copy(out, pos);
      pos += c.final().copy(out, pos);
      tag = c.getAuthTag();
    } else {
      const c = createCipheriv(this.spec.name as 'aes-128-ccm', this.encryptionKey, ivNonce, { authTagLength: TAG }) as CipherCCM;
      c.setAAD(aad, { plaintextLength: len });
      const plain = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments as Buffer[], len);
      pos += c.update(plain).copy(out, pos);
      pos += c.final().copy(out, pos);
      tag = c.getAuthTag();
    }
    tag.copy(th, 4);
    return out;
  }

  /**
   * Start decrypting a received transform frame whose 52-byte header is
   * `hdr` and whose ciphertext is `bodyLength` bytes. Checks the header
   * (Flags, OriginalMessageSize, SessionId) before any decryption.
   */
  open(hdr: Buffer, bodyLength: number): TransformOpener {
    const h = decodeTransformHeader(hdr);
    if (h.flags !== TRANSFORM_FLAG_ENCRYPTED) throw new SmbProtocolError(`transform header Flags 0x${h.flags.toString(16)}, expected 0x0001`);
    if (h.originalMessageSize !== bodyLength) {
      throw new SmbProtocolError(`transform OriginalMessageSize ${h.originalMessageSize} but ${bodyLength} bytes follow the header`);
    }
    if (h.sessionId !== this.sessionId) throw new SmbProtocolError(`transform for session 0x${h.sessionId.toString(16)} given to another session`);
    if (bodyLength < 64) throw new SmbProtocolError(`transform frame of ${bodyLength} bytes cannot hold an SMB2 message`);
    const aad = Buffer.from(hdr.subarray(AAD_START, SMB2_TRANSFORM_HEADER_SIZE));
    const tag = Buffer.from(h.signature);
    const iv = Buffer.from(h.nonce.subarray(0, this.spec.nonceBytes));
    const bad = () => new SmbProtocolError(`encrypted message from the server does not verify (${this.spec.name})`);
    const out = Buffer.allocUnsafe(bodyLength);
    let pos = 0;
    let done = false;
    if (this.spec.gcm) {
      const d = createDecipheriv(this.spec.name as 'aes-128-gcm', this.decryptionKey, iv, { authTagLength: TAG }) as DecipherGCM;
      d.setAAD(aad);
      d.setAuthTag(tag);
      return {
        header: h,
        update(chunk) {
          if (pos + chunk.length > bodyLength) throw new SmbProtocolError('transform frame longer than announced');
          pos += d.update(chunk).copy(out, pos);
        },
        final() {
          if (done) throw new Error('transform opener finished twice');
          done = true;
          if (pos !== bodyLength) throw new SmbProtocolError(`transform frame truncated: ${pos} of ${bodyLength} bytes`);
          try {
            d.final();
          } catch {
            out.fill(0);
            throw bad();
          }
          return out;
        },
      };
    }
    const parts: Buffer[] = [];
    return {
      header: h,
      update(chunk) {
        if (pos + chunk.length > bodyLength) throw new SmbProtocolError('transform frame longer than announced');
        parts.push(chunk);
        pos += chunk.length;
      },
      final: () => {
        if (done) throw new Error('transform opener finished twice');
        done = true;
        if (pos !== bodyLength) throw new SmbProtocolError(`transform frame truncated: ${pos} of ${bodyLength} bytes`);
        const d = createDecipheriv(this.spec.name as 'aes-128-ccm', this.decryptionKey, iv, { authTagLength: TAG }) as DecipherCCM;
        d.setAuthTag(tag);
        d.setAAD(aad, { plaintextLength: bodyLength });
        const ct = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bodyLength);
        let plain: Buffer;
        try {
          plain = d.update(ct);
          d.final();
        } catch {
          throw bad();
        }
        return plain;
      },
    };
  }

  /** Decrypt a whole transform frame (header + ciphertext) in one call. */
  openFrame(frame: Buffer): Buffer {
    if (frame.length < SMB2_TRANSFORM_HEADER_SIZE) throw new SmbProtocolError(`transform frame of ${frame.length} bytes is truncated`);
    const o = this.open(frame.subarray(0, SMB2_TRANSFORM_HEADER_SIZE), frame.length - SMB2_TRANSFORM_HEADER_SIZE);
    o.update(frame.subarray(SMB2_TRANSFORM_HEADER_SIZE));
    return o.final();
  }
}

/** SMB2_GLOBAL_CAP_ENCRYPTION (MS-SMB2 2.2.3): 3.0 and 3.0.2 encryption. */
const CAP_ENCRYPTION = 0x40;
/** SMB2_SESSION_FLAG_ENCRYPT_DATA (MS-SMB2 2.2.6). */
const SESSION_FLAG_ENCRYPT_DATA = 0x4;
const SMB3_0 = 0x0300;
const SMB3_0_2 = 0x0302;
const SMB3_1_1 = 0x0311;

/**
 * NEGOTIATE capability bits for encryption: CAP_ENCRYPTION whenever a 3.x
 * dialect is offered. MS-SMB2 defines the bit for 3.0/3.0.2, but Samba also
 * answers a 3.1.1-only NEGOTIATE with no encryption context unless the
 * client sets it (as Windows and Linux clients do).
 */
export function encryptionCapabilities(dialects: readonly number[]): number {
  return dialects.some((d) => d >= SMB3_0) ? CAP_ENCRYPTION : 0;
}

/**
 * The cipher a NEGOTIATE settled (0: none). 3.1.1 names it in its
 * encryption context (it must be one we offered); 3.0 and 3.0.2 use
 * AES-128-CCM when the server has CAP_ENCRYPTION; 2.x cannot encrypt.
 */
export function negotiatedCipher(dialect: number, capabilities: number, contextCipher: number | undefined): number {
  if (dialect === SMB3_1_1) {
    if (!contextCipher) return 0;
    if (!offeredCiphers().includes(contextCipher)) throw new SmbProtocolError(`server chose ${cipherName(contextCipher)}, which was not offered`);
    return contextCipher;
  }
  if (dialect === SMB3_0 || dialect === SMB3_0_2) return (capabilities & CAP_ENCRYPTION) !== 0 ? Cipher.AES_128_CCM : 0;
  return 0;
}

/** Where startEncryption registers a session's cipher. */
export interface EncryptionHost {
  setEncryption(sessionId: bigint, cipher: SessionCipher | null, all: boolean): void;
}

/**
 * After SESSION_SETUP: derive the session's cipher keys (L = 256 for the
 * AES-256 ciphers, MS-SMB2 3.2.5.3.1) and register the cipher on the
 * connection. It applies to every message when the server set
 * SESSION_FLAG_ENCRYPT_DATA or the user asked for `seal`; otherwise only to
 * trees whose share requires it. `seal` on a server, dialect or session that
 * cannot encrypt is an error, never a silent plain mount.
 * `sessionKey` is null for guest and anonymous sessions (no keys).
 */
export function startEncryption(
  host: EncryptionHost,
  neg: { dialect: number; cipher: number },
  sessionId: bigint,
  sessionKey: Buffer | null,
  preauthHash: Buffer | null,
  sessionFlags: number,
  opts: { seal?: boolean },
): SessionCipher | null {
  const required = (sessionFlags & SESSION_FLAG_ENCRYPT_DATA) !== 0;
  if (!neg.cipher || !sessionKey) {
    if (opts.seal) {
      throw new SmbProtocolError(
        !neg.cipher
          ? 'seal requested but the server/dialect does not support encryption'
          : 'seal requested but a guest or anonymous session has no keys to encrypt with',
      );
    }
    if (required) throw new SmbProtocolError('server requires encryption for this session but it has no cipher or keys');
    return null;
  }
  const spec = cipherSpec(neg.cipher);
  const keys = deriveSmb3Keys(sessionKey, neg.dialect, preauthHash, spec.keyBits);
  const c = new SessionCipher(neg.cipher, sessionId, keys.encryptionKey, keys.decryptionKey);
  host.setEncryption(sessionId, c, required || opts.seal === true);
  return c;
}
