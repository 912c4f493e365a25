/**
 * Hostile input: mutated captures of real Samba replies (test/fixtures/
 * fuzz-corpus.bin, recorded by test/fixtures/capture-fuzz-corpus.ts from a
 * session on every dialect) fed to every reply decoder, the header and
 * transform-header decoders, NTLM decodeChallenge/parseAvPairs, SPNEGO
 * unwrapNegToken, the directory/info/EA/create-context parsers, and the
 * Receiver's frame state machine.
 *
 * Mutations (deterministic PRNG): bit flips, byte sets, truncation,
 * appended junk, u16/u32 length/offset fields set to extremes, and for the
 * Receiver also duplicated/shortened compounds, broken length prefixes and
 * random chunking. Each decoder case must return or throw an SmbError /
 * NtlmError / SpnegoError — no other exception type — and no case may take
 * long (time checked per case and overall). The Receiver must never throw
 * out of push(); its sink's callbacks see only well-framed input.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Bvecq } from '../../../netfs/bvecq.js';
import { SmbError } from '../../../transport/errors.js';
import { decodeChallenge, NtlmError, parseAvPairs } from '../../../transport/ntlm.js';
import { decodeCloseResponse } from '../../../transport/pdu/close.js';
import { decodeCreateResponse, decodeLeaseContextData, decodeMaximalAccessContextData, parseCreateContexts } from '../../../transport/pdu/create.js';
import { decodeFileFullEaInformation } from '../../../transport/pdu/ea.js';
import * as fscc from '../../../transport/pdu/fscc.js';
import { decodeHeader, decodeTransformHeader, Smb2Command, type Smb2Header } from '../../../transport/pdu/header.js';
import { decodeIoctlResponse, decodeValidateNegotiateInfoResponse } from '../../../transport/pdu/ioctl.js';
import * as misc from '../../../transport/pdu/misc.js';
import { decodeNegotiateResponse } from '../../../transport/pdu/negotiate.js';
import { decodeQueryDirectoryResponse, parseFileIdBothDirectoryInformation, parseFileIdFullDirectoryInformation } from '../../../transport/pdu/query-directory.js';
import { decodeQueryInfoResponse, decodeSetInfoResponse } from '../../../transport/pdu/query-info.js';
import { decodeReadResponse, decodeReadResponseFixed } from '../../../transport/pdu/read.js';
import { decodeSessionSetupResponse } from '../../../transport/pdu/session-setup.js';
import { decodeTreeConnectResponse, decodeTreeDisconnectResponse } from '../../../transport/pdu/tree-connect.js';
import { decodeWriteResponse } from '../../../transport/pdu/write.js';
import { Receiver, type ReceiverSink } from '../../../transport/receiver.js';
import { SpnegoError, unwrapNegToken } from '../../../transport/spnego.js';

const DECODER_CASES = 200_000;
const RECEIVER_STREAMS = 20_000;
/** A single case slower than this counts as a hang. */
const CASE_LIMIT_MS = 1000;
/** The whole file must stay well inside CI's patience. */
const TOTAL_LIMIT_MS = 40_000;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(0x5eed5eb);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;

// --- corpus ----------------------------------------------------------------------
const raw = readFileSync(new URL('../../fixtures/fuzz-corpus.bin', import.meta.url));
const frames: Buffer[] = [];
for (let off = 0; off + 4 <= raw.length; ) {
  const len = raw.readUInt32BE(off);
  frames.push(raw.subarray(off + 4, off + 4 + len));
  off += 4 + len;
}
/** Compound members, each a message starting at its header. */
const messages: Buffer[] = [];
for (const f of frames) {
  for (let off = 0; off < f.length; ) {
    const next = f.readUInt32LE(off + 20);
    const end = next ? off + next : f.length;
    messages.push(f.subarray(off, end));
    off = end;
  }
}
t.ok(frames.length >= 100 && messages.length > frames.length, `corpus: ${frames.length} frames, ${messages.length} messages`);

// --- decoders by command, and what they lead to ------------------------------------------
type Decoder = (b: Buffer) => unknown;
const infoDecoders: Decoder[] = [
  fscc.decodeFileBasicInformation, fscc.decodeFileStandardInformation, fscc.decodeFileAllInformation,
  fscc.decodeFileNetworkOpenInformation, fscc.decodeFileInternalInformation, fscc.decodeFileFsFullSizeInformation,
  fscc.decodeFileFsSizeInformation, fscc.decodeFileFsAttributeInformation, decodeFileFullEaInformation,
];
const byCommand: Record<number, Decoder[]> = {
  [Smb2Command.NEGOTIATE]: [decodeNegotiateResponse],
  [Smb2Command.SESSION_SETUP]: [
    decodeSessionSetupResponse,
    (m) => unwrapNegToken(decodeSessionSetupResponse(m).securityBuffer),
    (m) => {
      const tok = unwrapNegToken(decodeSessionSetupResponse(m).securityBuffer).mechToken;
      return tok && decodeChallenge(tok);
    },
  ],
  [Smb2Command.LOGOFF]: [misc.decodeLogoffResponse],
  [Smb2Command.TREE_CONNECT]: [decodeTreeConnectResponse],
  [Smb2Command.TREE_DISCONNECT]: [decodeTreeDisconnectResponse],
  [Smb2Command.CREATE]: [
    decodeCreateResponse,
    (m) => decodeCreateResponse(m).contexts.map((c) => (c.data.length >= 32 ? decodeLeaseContextData(c.data) : decodeMaximalAccessContextData(c.data))),
  ],
  [Smb2Command.CLOSE]: [decodeCloseResponse],
  [Smb2Command.FLUSH]: [misc.decodeFlushResponse],
  [Smb2Command.READ]: [decodeReadResponse, decodeReadResponseFixed],
  [Smb2Command.WRITE]: [decodeWriteResponse],
  [Smb2Command.IOCTL]: [decodeIoctlResponse, (m) => decodeValidateNegotiateInfoResponse(decodeIoctlResponse(m).output)],
  [Smb2Command.ECHO]: [misc.decodeEchoResponse],
  [Smb2Command.QUERY_DIRECTORY]: [
    decodeQueryDirectoryResponse,
    (m) => parseFileIdBothDirectoryInformation(decodeQueryDirectoryResponse(m).outputBuffer),
    (m) => parseFileIdFullDirectoryInformation(decodeQueryDirectoryResponse(m).outputBuffer),
  ],
  [Smb2Command.QUERY_INFO]: [decodeQueryInfoResponse, ...infoDecoders.map((d) => (m: Buffer) => d(decodeQueryInfoResponse(m).outputBuffer))],
  [Smb2Command.SET_INFO]: [decodeSetInfoResponse],
  [Smb2Command.OPLOCK_BREAK]: [misc.decodeOplockBreakNotification, misc.decodeOplockBreakResponse],
};
const allDecoders: Decoder[] = [
  decodeHeader, (b) => decodeTransformHeader(b), misc.decodeErrorResponse, parseCreateContexts, parseAvPairs,
  decodeChallenge, unwrapNegToken, parseFileIdBothDirectoryInformation, ...infoDecoders,
  ...Object.values(byCommand).flat(),
];

/** Sub-buffers worth mutating on their own (security blobs, directory and info outputs). */
const inner: { buf: Buffer; decoders: Decoder[] }[] = [];
for (const m of messages) {
  const h = decodeHeader(m);
  try {
    if (h.command === Smb2Command.SESSION_SETUP) {
      const sb = decodeSessionSetupResponse(m).securityBuffer;
      if (sb.length) inner.push({ buf: sb, decoders: [unwrapNegToken] });
      const tok = sb.length ? unwrapNegToken(sb).mechToken : undefined;
      if (tok) inner.push({ buf: tok, decoders: [decodeChallenge] });
    } else if (h.command === Smb2Command.QUERY_DIRECTORY && h.status === 0) {
      inner.push({ buf: decodeQueryDirectoryResponse(m).outputBuffer, decoders: [parseFileIdBothDirectoryInformation] });
    } else if (h.command === Smb2Command.QUERY_INFO && h.status === 0) {
      inner.push({ buf: decodeQueryInfoResponse(m).outputBuffer, decoders: infoDecoders });
    }
  } catch {
    // error replies carry no body of that kind
  }
}
t.ok(inner.some((i) => i.decoders[0] === decodeChallenge), 'corpus holds NTLM challenges');
t.ok(inner.some((i) => i.decoders[0] === parseFileIdBothDirectoryInformation), 'corpus holds directory listings');

// --- mutations -------------------------------------------------------------------------
const EXTREMES32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff8, 64, 0x10000];
const EXTREMES16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0xfff8];

function mutate(src: Buffer): Buffer {
  let b = Buffer.from(src);
  const n = 1 + int(4);
  for (let k = 0; k < n; k++) {
    if (b.length === 0) b = Buffer.from([int(256)]);
    switch (int(8)) {
      case 0: // bit flips
        for (let i = 1 + int(8); i > 0; i--) b[int(b.length)]! ^= 1 << int(8);
        break;
      case 1: // byte set
        b[int(b.length)] = pick([0, 0xff, 0x7f, 0x80, int(256)]);
        break;
      case 2: // truncation
        b = b.subarray(0, int(b.length));
        break;
      case 3: // u32 field (offsets and lengths sit 4-aligned in SMB2) to an extreme
        if (b.length >= 4) b.writeUInt32LE(pick([...EXTREMES32, b.length, b.length + 1, b.length - 1 >>> 0]), int(b.length >> 2) << 2);
        break;
      case 4: // u16 field to an extreme
        if (b.length >= 2) b.writeUInt16LE(pick([...EXTREMES16, b.length & 0xffff]), int(b.length >> 1) << 1);
        break;
      case 5: // junk appended
        b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
        break;
      case 6: // a body field (past the header) to an extreme, unaligned
        if (b.length >= 68) b.writeUInt32LE(pick(EXTREMES32), 64 + int(b.length - 67));
        break;
      case 7: // a run of bytes zeroed or set
        {
          const s = int(b.length);
          b.fill(pick([0, 0xff]), s, Math.min(b.length, s + 1 + int(16)));
        }
        break;
    }
  }
  return b;
}

// --- the decoder cases ------------------------------------------------------------------
const started = Date.now();
let slowest = 0;
const bad: string[] = [];
const outcome = { ok: 0, smbError: 0, ntlmError: 0, spnegoError: 0 };

function run(decoder: Decoder, input: Buffer, what: string): void {
  const t0 = performance.now();
  try {
    decoder(input);
    outcome.ok++;
  } catch (e) {
    if (e instanceof SmbError) outcome.smbError++;
    else if (e instanceof NtlmError) outcome.ntlmError++;
    else if (e instanceof SpnegoError) outcome.spnegoError++;
    else if (bad.length < 20) bad.push(`${what} (${decoder.name || 'lambda'}): ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} input=${input.subarray(0, 200).toString('hex')}`);
  }
  const dt = performance.now() - t0;
  if (dt > slowest) slowest = dt;
}

for (let i = 0; i < DECODER_CASES; i++) {
  const r = int(10);
  if (r < 6) {
    const m = pick(messages);
    const h = decodeHeader(m);
    const input = mutate(m);
    const own = byCommand[h.command] ?? allDecoders;
    run(pick(own), input, `command ${h.command}`);
    if (r === 0) run(pick(allDecoders), input, 'cross-decoder');
  } else if (r < 9) {
    const x = pick(inner);
    run(pick(x.decoders), mutate(x.buf), 'inner buffer');
  } else {
    // a transform header over a mutated message
    const th = Buffer.alloc(52);
    th.writeUInt32LE(0x424d53fd, 0);
    th.writeUInt32LE(int(0x20000), 36);
    run((b) => decodeTransformHeader(b), mutate(Buffer.concat([th, pick(messages)])), 'transform');
  }
}
const decoderMs = Date.now() - started;
t.same(bad, [], 'every decoder case returned or threw SmbError/NtlmError/SpnegoError');
t.ok(slowest < CASE_LIMIT_MS, `slowest decoder case ${slowest.toFixed(1)} ms`);
t.comment(`decoder cases: ${DECODER_CASES} in ${decoderMs} ms — ${JSON.stringify(outcome)}`);

// --- the Receiver -----------------------------------------------------------------------
/** A mutated stream: several frames (some compounds duplicated or shortened), prefixes and all. */
function stream(): Buffer {
  const parts: Buffer[] = [];
  for (let k = 1 + int(6); k > 0; k--) {
    let f: Buffer = Buffer.from(pick(frames));
    const r = int(10);
    if (r === 0) {
      // duplicated compound: the frame twice, the first member's NextCommand pointing at the copy
      const pad = (8 - (f.length % 8)) % 8;
      const g = Buffer.concat([f, Buffer.alloc(pad), f]);
      if (g.readUInt32LE(20) === 0) g.writeUInt32LE(f.length + pad, 20);
      f = g;
    } else if (r === 1) {
      f = f.subarray(0, int(f.length)); // shortened (prefix still says the new length)
    } else if (r < 7) {
      f = mutate(f);
    }
    const len = Buffer.alloc(4);
    len.writeUInt32BE(f.length);
    if (int(20) === 0) len.writeUInt32BE(pick([0, 3, 0xffffff, 0x01000000 | int(0xffffff), f.length + 1 + int(100)]));
    parts.push(len, f);
  }
  return Buffer.concat(parts);
}

let streams = 0;
let framesSeen = 0;
let decanted = 0;
let fatal = 0;
let receiverThrew = 0;
const sinkBad: string[] = [];
for (let i = 0; i < RECEIVER_STREAMS; i++) {
  let dead = false;
  const sink: ReceiverSink = {
    decantTarget: (h: Smb2Header) => {
      if (h.command !== Smb2Command.READ || int(3) === 0) return null;
      const size = 1 + int(2048);
      return { dest: Bvecq.fromBuffers([Buffer.alloc(size)]).start(), max: size };
    },
    onFrame: (f) => {
      if (dead) sinkBad.push('frame after fatal');
      framesSeen++;
      // The connection would decode it; decoding must be SmbError-safe too.
      try {
        decodeHeader(f);
      } catch (e) {
        if (!(e instanceof SmbError) && sinkBad.length < 10) sinkBad.push(`decodeHeader: ${(e as Error).message}`);
      }
    },
    onDecanted: (r) => {
      decanted++;
      if (r.head.length < 64) sinkBad.push(`decanted head of ${r.head.length} bytes`);
    },
    onBadDecant: () => {},
    onFatal: (e) => {
      dead = true;
      fatal++;
      if (!(e instanceof SmbError)) sinkBad.push(`fatal not an SmbError: ${String(e)}`);
    },
  };
  const rx = new Receiver(sink);
  const s = stream();
  try {
    const t0 = performance.now();
    for (let off = 0; off < s.length; ) {
      const n = 1 + int(int(4) === 0 ? 16 : 4096);
      rx.push(s.subarray(off, off + n));
      off += n;
    }
    const dt = performance.now() - t0;
    if (dt > slowest) slowest = dt;
  } catch (e) {
    receiverThrew++;
    if (sinkBad.length < 10) sinkBad.push(`push threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
  streams++;
}
t.equal(receiverThrew, 0, 'Receiver.push never threw');
t.same(sinkBad, [], 'the sink saw only well-formed callbacks');
t.ok(slowest < CASE_LIMIT_MS, `slowest case ${slowest.toFixed(1)} ms`);
const total = Date.now() - started;
t.ok(total < TOTAL_LIMIT_MS, `all cases in ${total} ms`);
t.comment(`receiver streams: ${streams} (${framesSeen} frames delivered, ${decanted} decanted, ${fatal} fatal) — total ${DECODER_CASES + streams} cases`);
