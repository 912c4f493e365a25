/**
 * SMB2 NEGOTIATE (MS-SMB2 2.2.3 request, 2.2.4 response) with the SMB 3.1.1
 * negotiate contexts (2.2.3.1): PREAUTH_INTEGRITY_CAPABILITIES (2.2.3.1.1),
 * ENCRYPTION_CAPABILITIES (2.2.3.1.2), SIGNING_CAPABILITIES (2.2.3.1.7).
 *
 * Request body (offsets from the start of the message, body at 64):
 *    64 StructureSize (36)    66 DialectCount    68 SecurityMode   70 Reserved
 *    72 Capabilities          76 ClientGuid (16)
 *    92 NegotiateContextOffset (4) 96 NegotiateContextCount (2) 98 Reserved2
 *       (for dialects below 3.1.1 these 8 bytes are ClientStartTime, zero)
 *   100 Dialects (2 each), then padding to 8 and the context list.
 *
 * encodeNegotiateRequest() returns the exact body bytes that go on the wire:
 * nothing later rewrites them, so the pre-auth integrity hash can run over
 * header + this body as sent.
 */
import { SmbProtocolError } from '../errors.js';
import { Reader, Writer, checkRange, sliceChecked } from './codec.js';
import { SMB2_HEADER_SIZE, openResponseBody } from './header.js';

/** SecurityMode bits (2.2.3, 2.2.4, 2.2.5). */
export const SecurityMode = {
  SIGNING_ENABLED: 0x0001,
  SIGNING_REQUIRED: 0x0002,
} as const;

/** Capabilities bits (2.2.3). */
export const GlobalCapabilities = {
  DFS: 0x00000001,
  LEASING: 0x00000002,
  LARGE_MTU: 0x00000004,
  MULTI_CHANNEL: 0x00000008,
  PERSISTENT_HANDLES: 0x00000010,
  DIRECTORY_LEASING: 0x00000020,
  ENCRYPTION: 0x00000040,
  NOTIFICATIONS: 0x00000080,
} as const;

/** NEGOTIATE_CONTEXT ContextType (2.2.3.1). */
export const NegotiateContextType = {
  PREAUTH_INTEGRITY_CAPABILITIES: 0x0001,
  ENCRYPTION_CAPABILITIES: 0x0002,
  COMPRESSION_CAPABILITIES: 0x0003,
  NETNAME_NEGOTIATE_CONTEXT_ID: 0x0005,
  TRANSPORT_CAPABILITIES: 0x0006,
  RDMA_TRANSFORM_CAPABILITIES: 0x0007,
  SIGNING_CAPABILITIES: 0x0008,
} as const;

/** HashAlgorithms (2.2.3.1.1). */
export const HashAlgorithm = { SHA_512: 0x0001 } as const;

/** Ciphers (2.2.3.1.2). */
export const Cipher = {
  AES_128_CCM: 0x0001,
  AES_128_GCM: 0x0002,
  AES_256_CCM: 0x0003,
  AES_256_GCM: 0x0004,
} as const;

/** SigningAlgorithms (2.2.3.1.7). */
export const SigningAlgorithm = {
  HMAC_SHA256: 0x0000,
  AES_CMAC: 0x0001,
  AES_GMAC: 0x0002,
} as const;

/** The 3.1.1 contexts a client offers; empty lists leave a context out. */
export interface NegotiateRequestContexts {
  /** Defaults to [SHA-512]. */
  preauthHashAlgorithms?: number[];
  /** Random salt, 32 bytes by convention. */
  preauthSalt: Buffer;
  ciphers?: number[];
  signingAlgorithms?: number[];
}

export interface NegotiateRequest {
  dialects: number[];
  securityMode: number;
  capabilities: number;
  clientGuid: Buffer;
  /** Sent only if `dialects` includes 0x0311. */
  contexts?: NegotiateRequestContexts;
}

export interface NegotiateResponseContexts {
  preauthHashAlgorithm?: number;
  preauthSalt?: Buffer;
  cipher?: number;
  signingAlgorithm?: number;
}

export interface NegotiateResponse {
  securityMode: number;
  dialectRevision: number;
  /** 16-byte view. */
  serverGuid: Buffer;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  /** FILETIME. */
  systemTime: bigint;
  /** FILETIME (0 if the server does not say). */
  serverStartTime: bigint;
  /** GSS/SPNEGO token view; may be empty. */
  securityBuffer: Buffer;
  contexts: NegotiateResponseContexts;
}

const SMB3_1_1 = 0x0311;
const REQUEST_FIXED = 36;
const CONTEXT_HEADER = 8;

/** Context type + data bytes, data built by the caller. */
interface RawContext {
  type: number;
  data: Buffer;
}

/** Build the data parts of the contexts a request offers, in wire order. */
function requestContexts(c: NegotiateRequestContexts): RawContext[] {
  const out: RawContext[] = [];
  const hashes = c.preauthHashAlgorithms ?? [HashAlgorithm.SHA_512];
  const pre = new Writer(4 + 2 * hashes.length + c.preauthSalt.length);
  pre.u16(hashes.length).u16(c.preauthSalt.length);
  for (const h of hashes) pre.u16(h);
  pre.bytes(c.preauthSalt);
  out.push({ type: NegotiateContextType.PREAUTH_INTEGRITY_CAPABILITIES, data: pre.buf });
  for (const [type, list] of [
    [NegotiateContextType.ENCRYPTION_CAPABILITIES, c.ciphers ?? []],
    [NegotiateContextType.SIGNING_CAPABILITIES, c.signingAlgorithms ?? []],
  ] as const) {
    if (list.length === 0) continue;
    const w = new Writer(2 + 2 * list.length);
    w.u16(list.length);
    for (const v of list) w.u16(v);
    out.push({ type, data: w.buf });
  }
  return out;
}

/** Round a message offset up to a multiple of 8. */
function up8(n: number): number {
  return (n + 7) & ~7;
}

/** Encode the NEGOTIATE request body (from StructureSize on). */
export function encodeNegotiateRequest(req: NegotiateRequest): Buffer {
  if (req.clientGuid.length !== 16) throw new RangeError('clientGuid must be 16 bytes');
  if (req.dialects.length === 0) throw new RangeError('no dialects');
  const ctx = req.contexts && req.dialects.includes(SMB3_1_1) ? requestContexts(req.contexts) : [];
  const dialectsEnd = SMB2_HEADER_SIZE + REQUEST_FIXED + 2 * req.dialects.length;
  let end = dialectsEnd;
  const ctxOffset = ctx.length > 0 ? up8(dialectsEnd) : 0;
  if (ctx.length > 0) {
    end = ctxOffset;
    ctx.forEach((c, i) => {
      end += CONTEXT_HEADER + c.data.length;
      if (i < ctx.length - 1) end = up8(end);
    });
  }
  const w = new Writer(end - SMB2_HEADER_SIZE);
  w.u16(REQUEST_FIXED); // StructureSize
  w.u16(req.dialects.length);
  w.u16(req.securityMode);
  w.zeros(2); // Reserved
  w.u32(req.capabilities);
  w.bytes(req.clientGuid);
  w.u32(ctxOffset); // NegotiateContextOffset (or ClientStartTime low half)
  w.u16(ctx.length); // NegotiateContextCount
  w.zeros(2); // Reserved2
  for (const d of req.dialects) w.u16(d);
  for (const c of ctx) {
    w.align8();
    w.u16(c.type).u16(c.data.length).zeros(4).bytes(c.data);
  }
  return w.buf;
}

/** Parse the 3.1.1 context list of a response into the values we use. */
function decodeResponseContexts(msg: Buffer, offset: number, count: number): NegotiateResponseContexts {
  const out: NegotiateResponseContexts = {};
  if (count === 0) return out;
  if (offset < SMB2_HEADER_SIZE + 64 || offset % 8 !== 0) {
    throw new SmbProtocolError(`NEGOTIATE: bad NegotiateContextOffset ${offset}`);
  }
  let pos = offset;
  for (let i = 0; i < count; i++) {
    pos = up8(pos);
    checkRange(msg.length, pos, CONTEXT_HEADER, 'NEGOTIATE context header');
    const type = msg.readUInt16LE(pos);
    const len = msg.readUInt16LE(pos + 2);
    checkRange(msg.length, pos + CONTEXT_HEADER, len, 'NEGOTIATE context data');
    const r = new Reader(msg, pos + CONTEXT_HEADER, pos + CONTEXT_HEADER + len);
    switch (type) {
      case NegotiateContextType.PREAUTH_INTEGRITY_CAPABILITIES: {
        const n = r.u16();
        const saltLen = r.u16();
        if (n < 1) throw new SmbProtocolError('NEGOTIATE: preauth context without algorithm');
        out.preauthHashAlgorithm = r.u16();
        r.skip(2 * (n - 1));
        out.preauthSalt = r.bytes(saltLen);
        break;
      }
      case NegotiateContextType.ENCRYPTION_CAPABILITIES: {
        const n = r.u16();
        if (n < 1) throw new SmbProtocolError('NEGOTIATE: encryption context without cipher');
        out.cipher = r.u16();
        break;
      }
      case NegotiateContextType.SIGNING_CAPABILITIES: {
        const n = r.u16();
        if (n < 1) throw new SmbProtocolError('NEGOTIATE: signing context without algorithm');
        out.signingAlgorithm = r.u16();
        break;
      }
      default:
        break; // compression, netname, transport, RDMA: not used
    }
    pos += CONTEXT_HEADER + len;
  }
  return out;
}

/** Decode a NEGOTIATE response message (header + body). */
export function decodeNegotiateResponse(msg: Buffer): NegotiateResponse {
  const r = openResponseBody(msg, 65, 64, 'NEGOTIATE');
  const securityMode = r.u16();
  const dialectRevision = r.u16();
  const contextCount = r.u16();
  const serverGuid = r.bytes(16);
  const capabilities = r.u32();
  const maxTransactSize = r.u32();
  const maxReadSize = r.u32();
  const maxWriteSize = r.u32();
  const systemTime = r.u64();
  const serverStartTime = r.u64();
  const secOff = r.u16();
  const secLen = r.u16();
  const contextOffset = r.u32();
  const securityBuffer = sliceChecked(msg, secOff, secLen, SMB2_HEADER_SIZE + 64, 'NEGOTIATE SecurityBuffer');
  const contexts = dialectRevision === SMB3_1_1 ? decodeResponseContexts(msg, contextOffset, contextCount) : {};
  return {
    securityMode,
    dialectRevision,
    serverGuid,
    capabilities,
    maxTransactSize,
    maxReadSize,
    maxWriteSize,
    systemTime,
    serverStartTime,
    securityBuffer,
    contexts,
  };
}
