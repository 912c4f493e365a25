/**
 * Minimal SPNEGO (RFC 4178, MS-SPNG) for NTLMSSP over SMB2 SESSION_SETUP.
 *
 *   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
 *       thisMech OID (1.3.6.1.5.5.2), innerContextToken NegotiationToken }
 *   NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit,
 *                                 negTokenResp [1] NegTokenResp }
 *   NegTokenInit ::= SEQUENCE { mechTypes [0] SEQUENCE OF OID,
 *       reqFlags [1] BIT STRING OPTIONAL, mechToken [2] OCTET STRING OPTIONAL,
 *       negHints [3] OPTIONAL (MS-SPNG), mechListMIC [3]/[4] OPTIONAL }
 *   NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL,
 *       supportedMech [1] OID OPTIONAL, responseToken [2] OCTET STRING OPTIONAL,
 *       mechListMIC [3] OCTET STRING OPTIONAL }
 *
 * The DER reader is bounded: every length is checked against the enclosing
 * element, only definite lengths of at most four bytes are accepted, and
 * each step consumes at least two bytes, so it always terminates.
 */

/** Malformed SPNEGO input. */
export class SpnegoError extends Error {
  readonly code = 'SMB_ERR_AUTH';
  override name = 'SpnegoError';
}

export const SPNEGO_OID = '1.3.6.1.5.5.2';
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';

/** negState values, RFC 4178 4.2.2. */
export const NegState = {
  ACCEPT_COMPLETED: 0,
  ACCEPT_INCOMPLETE: 1,
  REJECT: 2,
  REQUEST_MIC: 3,
} as const;

const TAG_SEQUENCE = 0x30;
const TAG_OID = 0x06;
const TAG_OCTET_STRING = 0x04;
const TAG_ENUMERATED = 0x0a;
const TAG_GSS_APP0 = 0x60;
const ctx = (n: number): number => 0xa0 | n;

const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** DER length octets for `len`. */
function derLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A DER element: tag, length and the concatenated contents. */
function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** DER encoding of a dotted OID. */
export function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new SpnegoError(`bad OID ${oid}`);
    return Number(a);
  });
  if (arcs.length < 2 || arcs[0]! > 2) throw new SpnegoError(`bad OID ${oid}`);
  const out: number[] = [];
  const first = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)];
  for (const arc of first) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(TAG_OID, Buffer.from(out));
}

/** Dotted form of OID contents (without tag and length). */
function decodeOid(b: Buffer): string {
  if (b.length === 0) throw new SpnegoError('empty OID');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (v > 0xffffffff) throw new SpnegoError('OID arc too large');
    if ((b[i]! & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    } else if (i === b.length - 1) {
      throw new SpnegoError('truncated OID');
    }
  }
  const head = arcs[0]!;
  const x = head < 40 ? 0 : head < 80 ? 1 : 2;
  return [x, head - x * 40, ...arcs.slice(1)].join('.');
}

/**
 * GSS-API InitialContextToken holding a SPNEGO NegTokenInit that offers
 * NTLMSSP and carries the NTLM NEGOTIATE message as mechToken.
 */
export function wrapNegTokenInit(ntlmToken: Buffer): Buffer {
  const mechTypes = tlv(ctx(0), tlv(TAG_SEQUENCE, encodeOid(NTLMSSP_OID)));
  const mechToken = tlv(ctx(2), tlv(TAG_OCTET_STRING, ntlmToken));
  return tlv(TAG_GSS_APP0, encodeOid(SPNEGO_OID), tlv(ctx(0), tlv(TAG_SEQUENCE, mechTypes, mechToken)));
}

/**
 * NegTokenResp carrying the NTLM AUTHENTICATE message as responseToken.
 * negState and mechListMIC are omitted unless given.
 */
export function wrapNegTokenResp(ntlmToken: Buffer, opts: { negState?: number; mechListMIC?: Buffer } = {}): Buffer {
  const fields: Buffer[] = [];
  if (opts.negState !== undefined) fields.push(tlv(ctx(0), tlv(TAG_ENUMERATED, Buffer.from([opts.negState]))));
  fields.push(tlv(ctx(2), tlv(TAG_OCTET_STRING, ntlmToken)));
  if (opts.mechListMIC !== undefined) fields.push(tlv(ctx(3), tlv(TAG_OCTET_STRING, opts.mechListMIC)));
  return tlv(ctx(1), tlv(TAG_SEQUENCE, ...fields));
}

/** What unwrapNegToken found. */
export interface NegToken {
  /** NegTokenResp negState. */
  negState?: number;
  /** NegTokenInit mechToken or NegTokenResp responseToken (or a raw NTLM token). */
  mechToken?: Buffer;
  /** NegTokenResp supportedMech, dotted. */
  supportedMech?: string;
  /** NegTokenInit mechTypes, dotted, in the sender's order of preference. */
  mechTypes?: string[];
  mechListMIC?: Buffer;
}

/** One parsed DER element: tag and the bounds of its contents. */
interface Elem {
  tag: number;
  start: number;
  end: number;
}

/** Reads the DER element at `pos`, which must end by `limit`. */
function readElem(buf: Buffer, pos: number, limit: number): Elem {
  if (limit - pos < 2) throw new SpnegoError('truncated DER element');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new SpnegoError('multi-byte DER tags are not used by SPNEGO');
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new SpnegoError('indefinite DER length');
    if (n > 4) throw new SpnegoError('DER length too long');
    if (limit - start < n) throw new SpnegoError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (len > limit - start) throw new SpnegoError('DER element runs past its container');
  return { tag, start, end: start + len };
}

/** The single element that fills [start, end) and has the expected tag. */
function expectOnly(buf: Buffer, start: number, end: number, tag: number, what: string): Elem {
  const e = readElem(buf, start, end);
  if (e.tag !== tag) throw new SpnegoError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${e.tag.toString(16)}`);
  return e;
}

/** The elements of a constructed value, in order. */
function children(buf: Buffer, start: number, end: number): Elem[] {
  const out: Elem[] = [];
  for (let pos = start; pos < end; ) {
    const e = readElem(buf, pos, end);
    out.push(e);
    pos = e.end;
  }
  return out;
}

/** An OCTET STRING wrapped in a context tag, copied out. */
function octets(buf: Buffer, e: Elem, what: string): Buffer {
  const o = expectOnly(buf, e.start, e.end, TAG_OCTET_STRING, what);
  return Buffer.from(buf.subarray(o.start, o.end));
}

/** Parses NegTokenInit contents (the SEQUENCE inside [0]). */
function parseInit(buf: Buffer, e: Elem): NegToken {
  const seq = expectOnly(buf, e.start, e.end, TAG_SEQUENCE, 'NegTokenInit');
  const out: NegToken = {};
  for (const f of children(buf, seq.start, seq.end)) {
    if (f.tag === ctx(0)) {
      const list = expectOnly(buf, f.start, f.end, TAG_SEQUENCE, 'mechTypes');
      out.mechTypes = children(buf, list.start, list.end).map((o) => {
        if (o.tag !== TAG_OID) throw new SpnegoError('mechTypes holds a non-OID');
        return decodeOid(buf.subarray(o.start, o.end));
      });
    } else if (f.tag === ctx(2)) {
      out.mechToken = octets(buf, f, 'mechToken');
    } else if (f.tag === ctx(4)) {
      out.mechListMIC = octets(buf, f, 'mechListMIC');
    }
    // [1] reqFlags and [3] negHints (MS-SPNG) are not needed by a client.
  }
  return out;
}

/** Parses NegTokenResp contents (the SEQUENCE inside [1]). */
function parseResp(buf: Buffer, e: Elem): NegToken {
  const seq = expectOnly(buf, e.start, e.end, TAG_SEQUENCE, 'NegTokenResp');
  const out: NegToken = {};
  for (const f of children(buf, seq.start, seq.end)) {
    if (f.tag === ctx(0)) {
      const en = expectOnly(buf, f.start, f.end, TAG_ENUMERATED, 'negState');
      if (en.end - en.start !== 1) throw new SpnegoError('negState is not one byte');
      out.negState = buf[en.start]!;
    } else if (f.tag === ctx(1)) {
      const o = expectOnly(buf, f.start, f.end, TAG_OID, 'supportedMech');
      out.supportedMech = decodeOid(buf.subarray(o.start, o.end));
    } else if (f.tag === ctx(2)) {
      out.mechToken = octets(buf, f, 'responseToken');
    } else if (f.tag === ctx(3)) {
      out.mechListMIC = octets(buf, f, 'mechListMIC');
    }
  }
  return out;
}

/**
 * Parses a security blob from SESSION_SETUP or NEGOTIATE: a GSS-wrapped
 * NegTokenInit, a bare NegTokenInit or NegTokenResp, or a raw NTLMSSP
 * message (returned as mechToken). Throws SpnegoError on anything
 * malformed, including trailing bytes after the token.
 */
export function unwrapNegToken(buf: Buffer): NegToken {
  if (buf.length >= 8 && buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) return { mechToken: Buffer.from(buf) };
  const top = readElem(buf, 0, buf.length);
  if (top.end !== buf.length) throw new SpnegoError('trailing bytes after the SPNEGO token');
  let choice = top;
  if (top.tag === TAG_GSS_APP0) {
    const oid = readElem(buf, top.start, top.end);
    if (oid.tag !== TAG_OID) throw new SpnegoError('GSS token without a mechanism OID');
    const mech = decodeOid(buf.subarray(oid.start, oid.end));
    if (mech !== SPNEGO_OID) throw new SpnegoError(`GSS token for ${mech}, not SPNEGO`);
    choice = readElem(buf, oid.end, top.end);
    if (choice.end !== top.end) throw new SpnegoError('trailing bytes in the GSS token');
  }
  if (choice.tag === ctx(0)) return parseInit(buf, choice);
  if (choice.tag === ctx(1)) return parseResp(buf, choice);
  throw new SpnegoError(`not a SPNEGO token (tag 0x${choice.tag.toString(16)})`);
}

/**
 * The DER MechTypeList that wrapNegTokenInit offers (SEQUENCE OF one OID):
 * the bytes a mechListMIC covers (RFC 4178 section 5).
 */
export function offeredMechTypeList(): Buffer {
  return tlv(TAG_SEQUENCE, encodeOid(NTLMSSP_OID));
}
