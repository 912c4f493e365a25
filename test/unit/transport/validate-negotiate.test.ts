/**
 * FSCTL_VALIDATE_NEGOTIATE_INFO, client side: the request carries what this
 * client's NEGOTIATE sent, is signed and addressed to the tree; the signed
 * reply must repeat the NEGOTIATE response field by field, else "downgrade
 * detected" (the server-side check, which drops the connection, is shown
 * against Samba in test/integration/tamper.test.ts). Which sessions run it.
 */
import t from 'tap';
import type { SmbConnection } from '../../../transport/connection.js';
import { SmbProtocolError, SmbTransportError } from '../../../transport/errors.js';
import type { SmbMessage, SmbResponse } from '../../../transport/message.js';
import { encodeHeader, Smb2Command, Smb2Flags } from '../../../transport/pdu/header.js';
import { FSCTL_VALIDATE_NEGOTIATE_INFO } from '../../../transport/pdu/ioctl.js';
import type { Negotiated, SessionState } from '../../../transport/session.js';
import { Dialect } from '../../../transport/types.js';
import { needsValidateNegotiate, validateNegotiate, validateNegotiateMessage } from '../../../transport/validate-negotiate.js';

const serverGuid = Buffer.alloc(16, 0x5a);
const neg = {
  dialect: Dialect.SMB3_0_2,
  serverGuid,
  securityMode: 1,
  capabilities: 0x2f,
  sent: { clientGuid: Buffer.alloc(16, 0xc1), dialects: [Dialect.SMB3_0, Dialect.SMB3_0_2, Dialect.SMB3_1_1], securityMode: 1, capabilities: 0x44 },
} as unknown as Negotiated;
const session = { sessionId: 0x1234n, isGuest: false, signingKey: Buffer.alloc(16), signingRequired: false, signingAlgo: 'aes-cmac' } as SessionState;

/** An IOCTL response message with a VALIDATE_NEGOTIATE_INFO output. */
function reply(o: { dialect?: number; guid?: Buffer; securityMode?: number; capabilities?: number; signed?: boolean; verified?: boolean; status?: number } = {}): SmbResponse {
  const msg = Buffer.alloc(64 + 48 + 24);
  encodeHeader(
    { creditCharge: 1, status: o.status ?? 0, command: Smb2Command.IOCTL, creditRequest: 1, flags: 1 | (o.signed === false ? 0 : Smb2Flags.SIGNED), nextCommand: 0, messageId: 5n, asyncId: 0n, treeId: 9, sessionId: 0x1234n, signature: Buffer.alloc(16) },
    msg,
    0,
  );
  msg.writeUInt16LE(49, 64);
  msg.writeUInt32LE(FSCTL_VALIDATE_NEGOTIATE_INFO, 68);
  msg.fill(0xff, 72, 88);
  msg.writeUInt32LE(112, 96); // OutputOffset
  msg.writeUInt32LE(24, 100); // OutputCount
  msg.writeUInt32LE(o.capabilities ?? 0x2f, 112);
  (o.guid ?? serverGuid).copy(msg, 116);
  msg.writeUInt16LE(o.securityMode ?? 1, 132);
  msg.writeUInt16LE(o.dialect ?? Dialect.SMB3_0_2, 134);
  const verified = o.signed !== false && o.verified !== false;
  return { header: { status: o.status ?? 0, flags: 1 | (o.signed === false ? 0 : Smb2Flags.SIGNED) }, msg, verified } as unknown as SmbResponse;
}

function fakeConn(answer: SmbResponse | Error): { conn: SmbConnection; sent: SmbMessage[] } {
  const sent: SmbMessage[] = [];
  const conn = {
    request: async (m: SmbMessage) => {
      sent.push(m);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as SmbConnection;
  return { conn, sent };
}

t.test('the request: signed IOCTL on the tree with what NEGOTIATE sent', async (t) => {
  const m = validateNegotiateMessage(neg, session, 9);
  t.equal(m.command, Smb2Command.IOCTL);
  t.equal(m.forceSign, true);
  t.equal(m.treeId, 9);
  t.equal(m.sessionId, 0x1234n);
  const b = m.body;
  t.equal(b.readUInt32LE(4), FSCTL_VALIDATE_NEGOTIATE_INFO);
  t.ok(b.subarray(8, 24).equals(Buffer.alloc(16, 0xff)), 'FileId all 0xFF');
  t.equal(b.readUInt32LE(48), 1, 'SMB2_0_IOCTL_IS_FSCTL');
  const input = b.subarray(56);
  t.equal(input.readUInt32LE(0), 0x44, 'Capabilities sent');
  t.ok(input.subarray(4, 20).equals(Buffer.alloc(16, 0xc1)), 'client Guid');
  t.equal(input.readUInt16LE(20), 1, 'SecurityMode sent');
  t.equal(input.readUInt16LE(22), 3, 'DialectCount');
  t.same([0, 1, 2].map((i) => input.readUInt16LE(24 + 2 * i)), [0x300, 0x302, 0x311], 'the dialects offered');
});

t.test('a matching signed reply passes', async (t) => {
  const { conn, sent } = fakeConn(reply());
  await validateNegotiate(conn, neg, session, 9);
  t.equal(sent.length, 1);
});

const bad: [string, Parameters<typeof reply>[0], RegExp][] = [
  ['another dialect', { dialect: Dialect.SMB3_0 }, /dialect 0x300 vs negotiated 0x302/],
  ['another server GUID', { guid: Buffer.alloc(16, 1) }, /server GUID/],
  ['another security mode', { securityMode: 3 }, /security mode 3 vs 1/],
  ['other capabilities', { capabilities: 0x7f }, /capabilities 0x7f vs 0x2f/],
  ['an unsigned reply', { signed: false }, /VALIDATE_NEGOTIATE_INFO reply not authenticated/],
  ['a SIGNED flag whose signature the connection did not verify', { verified: false }, /VALIDATE_NEGOTIATE_INFO reply not authenticated/],
  ['a failed reply', { status: 0xc0000010 }, /failed with STATUS_INVALID_DEVICE_REQUEST/],
];
for (const [name, o, re] of bad) {
  t.test(`${name}: downgrade detected`, async (t) => {
    const { conn } = fakeConn(reply(o));
    const err = await validateNegotiate(conn, neg, session, 9).catch((e: unknown) => e);
    t.ok(err instanceof SmbProtocolError);
    t.match((err as Error).message, /^downgrade detected: /);
    t.match((err as Error).message, re);
  });
}

t.test('a dropped connection (the server saw another NEGOTIATE): downgrade detected', async (t) => {
  const { conn } = fakeConn(new SmbTransportError('connection closed by server'));
  await t.rejects(validateNegotiate(conn, neg, session, 9), /downgrade detected: .*no reply \(connection closed by server\)/);
});

t.test('who runs it: authenticated 3.0 and 3.0.2 sessions only', async (t) => {
  for (const [d, want] of [[Dialect.SMB2_0_2, false], [Dialect.SMB2_1, false], [Dialect.SMB3_0, true], [Dialect.SMB3_0_2, true], [Dialect.SMB3_1_1, false]] as const) {
    t.equal(needsValidateNegotiate({ ...neg, dialect: d }, session), want, `0x${d.toString(16)}`);
  }
  t.equal(needsValidateNegotiate(neg, { ...session, isGuest: true }), false, 'not for guests');
  t.equal(needsValidateNegotiate(neg, { ...session, signingKey: null }), false, 'not without a key');
});
