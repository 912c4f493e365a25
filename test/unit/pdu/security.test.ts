// Security descriptor codec and the mode kept in it (modefromsid). Expected bytes are built from
// the MS-DTYP 2.4.2.2 (SID), 2.4.4 (ACE), 2.4.5 (ACL) and 2.4.6 (SECURITY_DESCRIPTOR) field
// tables; the two Samba descriptors were captured from Samba 4.17 (QUERY_INFO
// OWNER|GROUP|DACL of a 0644 file and a 0755 directory on a plain share).
import t from 'tap';
import { SmbProtocolError } from '../../../transport/errors.js';
import { hasModeAce, modeAce, modeFromSd, rightsFor, rwxOf, sdWithMode } from '../../../transport/mode-sid.js';
import {
  aceMaskSid,
  AceType,
  decodeSecurityDescriptor,
  decodeSid,
  encodeSecurityDescriptor,
  encodeSid,
  maskSidAce,
  type SecurityDescriptor,
} from '../../../transport/pdu/security.js';
import { ByteList, hex, thrown, unhex } from '../../helpers/bytes.js';

const sambaFile0644 = unhex(`
  01 00 0490 14000000 24000000 00000000 34000000   # rev 1, control 0x9004, owner@20 group@36 no SACL, DACL@52
  01 02 000000000016 01000000 00000000             # S-1-22-1-0 (Unix uid 0)
  01 02 000000000016 02000000 00000000             # S-1-22-2-0 (Unix gid 0)
  02 00 4c00 0300 0000                             # ACL rev 2, 76 bytes, 3 ACEs
  00 00 1800 9f011200 01 02 000000000016 01000000 00000000   # allow owner  0x0012019f
  00 00 1800 89001200 01 02 000000000016 02000000 00000000   # allow group  0x00120089
  00 00 1400 89001200 01 01 000000000001 00000000            # allow S-1-1-0 0x00120089
`);
const sambaDir0755 = unhex(
  '0100049014000000240000000000000034000000010200000000001601000000000000000102000000000016020000000000000002004c000300000000001800ff011f00' +
    '0102000000000016010000000000000000001800a90012000102000000000016020000000000000000001400a9001200010100000000000100000000',
);

/** The SID S-1-5-88-3-<mode> as MS-DTYP 2.4.2.2 lays it out. */
const modeSid = (mode: number) =>
  new ByteList().u8(1, 'Revision').u8(3, 'SubAuthorityCount').hex('000000000005', 'IdentifierAuthority NT (5), big-endian')
    .u32(88, 'SubAuthority').u32(3, 'SubAuthority').u32(mode, 'SubAuthority: the mode');

t.test('SIDs: string form ↔ bytes', async (t) => {
  t.equal(hex(encodeSid('S-1-5-88-3-420')), hex(modeSid(0o644).toBuffer()));
  t.equal(hex(encodeSid('S-1-1-0')), '010100000000000100000000');
  t.equal(decodeSid(encodeSid('S-1-5-21-1-2-3-500')), 'S-1-5-21-1-2-3-500');
  t.equal(decodeSid(unhex('0100 00ffffffffff')), 'S-1-1099511627775', 'a 40-bit authority (decimal here, where MS-DTYP writes 0x)');
  for (const bad of ['S-1', 'S-2-5', 'S-1-5-x', 'S-1-5-4294967296', 'S-1-281474976710656', 'S-1-5' + '-1'.repeat(16)]) {
    t.type(thrown(() => encodeSid(bad)), RangeError, bad);
  }
  t.type(thrown(() => decodeSid(unhex('0201000000000005 00000000'))), SmbProtocolError, 'revision 2');
  t.type(thrown(() => decodeSid(unhex('0110000000000005'))), SmbProtocolError, '16 sub-authorities');
  t.type(thrown(() => decodeSid(unhex('0102000000000005 01000000'))), SmbProtocolError, 'truncated');
});

t.test("the mode ACE is the cifs client's: ACCESS_DENIED, no rights, 28 bytes", async (t) => {
  const ace = modeAce(0o4755);
  const wire = encodeSecurityDescriptor({ control: 0, owner: null, group: null, sacl: null, dacl: { revision: 2, aces: [ace] } });
  const expected = new ByteList()
    .u8(1, 'Revision').u8(0, 'Sbz1').u16(0x8004, 'Control: SELF_RELATIVE | DACL_PRESENT')
    .u32(0, 'OffsetOwner').u32(0, 'OffsetGroup').u32(0, 'OffsetSacl').u32(20, 'OffsetDacl')
    .u8(2, 'AclRevision').u8(0, 'Sbz1').u16(8 + 28, 'AclSize').u16(1, 'AceCount').u16(0, 'Sbz2')
    .u8(1, 'AceType: ACCESS_DENIED').u8(0, 'AceFlags').u16(28, 'AceSize').u32(0, 'Mask')
    .bytes(modeSid(0o4755).toBuffer(), 'Sid');
  t.equal(hex(wire), hex(expected.toBuffer()));
  t.same(aceMaskSid(ace), { mask: 0, sid: 'S-1-5-88-3-2541' });
});

t.test('decode a captured Samba descriptor and encode it back byte for byte', async (t) => {
  const sd = decodeSecurityDescriptor(sambaFile0644);
  t.equal(sd.control, 0x9004);
  t.equal(sd.owner, 'S-1-22-1-0');
  t.equal(sd.group, 'S-1-22-2-0');
  t.equal(sd.sacl, null);
  t.same(sd.dacl!.aces.map((a) => [a.type, aceMaskSid(a)]), [
    [0, { mask: 0x0012019f, sid: 'S-1-22-1-0' }],
    [0, { mask: 0x00120089, sid: 'S-1-22-2-0' }],
    [0, { mask: 0x00120089, sid: 'S-1-1-0' }],
  ]);
  t.equal(hex(encodeSecurityDescriptor(sd)), hex(sambaFile0644), 'same layout: header, owner, group, DACL');
  t.equal(modeFromSd(sd), 0o644, 'mode from the owner/group/Everyone ACEs');
  t.equal(modeFromSd(decodeSecurityDescriptor(sambaDir0755)), 0o755);
  t.notOk(hasModeAce(sd));
});

t.test('sdWithMode: the DACL to set, byte for byte', async (t) => {
  const old = decodeSecurityDescriptor(sambaFile0644);
  const ace = (type: number, mask: number, sid: Buffer) =>
    new ByteList().u8(type, 'AceType').u8(0, 'AceFlags').u16(8 + sid.length, 'AceSize').u32(mask, 'Mask').bytes(sid, 'Sid').toBuffer();
  const owner = encodeSid('S-1-22-1-0');
  const group = encodeSid('S-1-22-2-0');
  const everyone = encodeSid('S-1-1-0');
  // 0640: owner rw (+WRITE_DAC), group r, Everyone nothing but attributes and the ACL.
  const aces = [
    ace(1, 0, modeSid(0o640).toBuffer()),
    ace(0, 0x00020000 | 0x00040000 | 0x00100000 | 0x80 | 0x01 | 0x08 | 0x02 | 0x04 | 0x10 | 0x100, owner),
    ace(0, 0x00120080 | 0x01 | 0x08, group),
    ace(0, 0x00120080, everyone),
  ];
  const body = Buffer.concat(aces);
  const expected = new ByteList()
    .u8(1).u8(0).u16(0x9004, 'Control: SELF_RELATIVE | DACL_PROTECTED (kept) | DACL_PRESENT')
    .u32(0).u32(0).u32(0).u32(20, 'OffsetDacl')
    .u8(2).u8(0).u16(8 + body.length, 'AclSize').u16(4, 'AceCount').u16(0)
    .bytes(body)
    .toBuffer();
  t.equal(hex(encodeSecurityDescriptor(sdWithMode(old, 0o640, false))), hex(expected));
  const again = decodeSecurityDescriptor(encodeSecurityDescriptor({ ...sdWithMode(old, 0o640, false), owner: old.owner, group: old.group }));
  t.equal(modeFromSd(again), 0o640, 'the mode ACE is read first');
  t.equal(modeFromSd({ ...again, dacl: { revision: 2, aces: again.dacl!.aces.slice(1) } }), 0o640, 'the ACEs alone say the same');
  const noAce = sdWithMode(old, 0o751, true, false);
  t.notOk(hasModeAce(noAce), 'without the mode ACE');
  t.equal(modeFromSd({ ...noAce, owner: old.owner, group: old.group }), 0o751);
  t.equal(rightsFor(2, true, false) & 0x40, 0x40, 'a directory write bit includes FILE_DELETE_CHILD');
});

t.test('sdWithMode keeps other trustees and inherit-only ACEs, replaces an old mode ACE', async (t) => {
  const other = maskSidAce(AceType.ACCESS_DENIED, 0, 0x2, 'S-1-5-21-9-9-9-1001');
  const inheritOnly = maskSidAce(AceType.ACCESS_ALLOWED, 0x0b, 0x1f01ff, 'S-1-1-0');
  const old: SecurityDescriptor = {
    control: 0x8004, owner: 'S-1-5-21-9-9-9-500', group: 'S-1-5-21-9-9-9-513', sacl: null,
    dacl: { revision: 2, aces: [modeAce(0o700), other, inheritOnly, maskSidAce(AceType.ACCESS_ALLOWED, 0, 0x1f01ff, 'S-1-5-21-9-9-9-500')] },
  };
  const sids = sdWithMode(old, 0o2750, true).dacl!.aces.map((a) => aceMaskSid(a)!.sid);
  t.same(sids, ['S-1-5-88-3-1512', 'S-1-5-21-9-9-9-1001', 'S-1-1-0', 'S-1-5-21-9-9-9-500', 'S-1-5-21-9-9-9-513', 'S-1-1-0']);
  const fromNull = sdWithMode({ ...old, dacl: null }, 0o644, false);
  t.equal(fromNull.dacl!.aces.length, 4, 'no DACL before: mode, owner, group, Everyone');
});

t.test('modeFromSd: generic rights, deny before allow, inherit-only, no DACL, malformed mode ACE', async (t) => {
  const sd = (aces: ReturnType<typeof maskSidAce>[]): SecurityDescriptor => ({
    control: 0x8004, owner: 'S-1-5-21-1-1-1-1000', group: 'S-1-5-21-1-1-1-513', sacl: null, dacl: { revision: 2, aces },
  });
  t.equal(modeFromSd(sd([maskSidAce(0, 0, 0x10000000, 'S-1-1-0')])), 0o777, 'Everyone GENERIC_ALL counts for all three');
  t.equal(modeFromSd(sd([maskSidAce(1, 0, 0x2, 'S-1-1-0'), maskSidAce(0, 0, 0x1f01ff, 'S-1-1-0')])), 0o555, 'an earlier deny wins');
  t.equal(modeFromSd(sd([maskSidAce(0, 0x08, 0x1f01ff, 'S-1-5-21-1-1-1-1000')])), 0, 'inherit-only ACEs do not apply');
  t.equal(modeFromSd({ ...sd([]), dacl: null }), null, 'no DACL: nothing recorded');
  t.equal(modeFromSd(sd([maskSidAce(1, 0, 0, 'S-1-5-88-3-4096'), maskSidAce(0, 0, 0x10000000, 'S-1-1-0')])), null, 'mode over 07777: malformed');
  t.equal(modeFromSd(sd([maskSidAce(1, 0, 0, 'S-1-5-88-3-1023')])), 0o1777);
  t.equal(rwxOf(0x80000000 | 0x20000000), 5, 'GENERIC_READ | GENERIC_EXECUTE');
});

t.test('hostile descriptors fail with SmbProtocolError', async (t) => {
  const bad = (what: string, mutate: (b: Buffer) => Buffer) => {
    t.type(thrown(() => decodeSecurityDescriptor(mutate(Buffer.from(sambaFile0644)))), SmbProtocolError, what);
  };
  bad('revision 2', (b) => (b.writeUInt8(2, 0), b));
  bad('not self-relative', (b) => (b.writeUInt16LE(0x1004, 2), b));
  bad('owner offset past the end', (b) => (b.writeUInt32LE(500, 4), b));
  bad('owner offset inside the header', (b) => (b.writeUInt32LE(8, 4), b));
  bad('AclSize past the end', (b) => (b.writeUInt16LE(0x4d, 54), b));
  bad('AceCount beyond AclSize', (b) => (b.writeUInt16LE(4, 56), b));
  bad('AceSize too small', (b) => (b.writeUInt16LE(4, 62), b));
  bad('AceSize not a multiple of 4', (b) => (b.writeUInt16LE(0x19, 62), b));
  bad('AclRevision 3', (b) => (b.writeUInt8(3, 52), b));
  bad('truncated header', (b) => b.subarray(0, 19));
  t.type(thrown(() => aceMaskSid({ type: 0, flags: 0, body: unhex('00000000 0105') })), SmbProtocolError, 'ACE body with a truncated SID');
});

t.test('mutated descriptors: decode and mode either succeed or throw SmbProtocolError', async (t) => {
  let seed = 0x5d5d;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const bases = [sambaFile0644, sambaDir0755, encodeSecurityDescriptor({ ...sdWithMode(decodeSecurityDescriptor(sambaFile0644), 0o750, false), owner: 'S-1-22-1-0', group: 'S-1-22-2-0' })];
  let decoded = 0;
  const t0 = Date.now();
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(bases[i % bases.length]!);
    for (let k = 1 + rnd(4); k > 0; k--) b[rnd(b.length)] = rnd(4) === 0 ? 0xff : rnd(256);
    const input = rnd(5) === 0 ? b.subarray(0, rnd(b.length)) : b;
    try {
      const mode = modeFromSd(decodeSecurityDescriptor(input));
      if (mode !== null && !(mode >= 0 && mode <= 0o7777)) throw new Error(`mode ${mode} out of range`);
      decoded++;
    } catch (e) {
      if (!(e instanceof SmbProtocolError)) {
        t.fail(`case ${i}: ${String(e)} for ${hex(input)}`);
        return;
      }
    }
  }
  t.ok(decoded > 0, `${decoded} of 20000 mutated descriptors still decoded`);
  t.ok(Date.now() - t0 < 10_000, 'quickly');
});
