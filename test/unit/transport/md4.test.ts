/**
 * MD4 against the test suite of RFC 1320 appendix A.5.
 */
import t from 'tap';
import { md4 } from '../../../transport/md4.js';

const SUITE: Array<[string, string]> = [
  ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
  ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
  ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
  ['message digest', 'd9130a8164549fe818874806e1c7014b'],
  ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
  ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
];

t.test('RFC 1320 A.5 suite', async (t) => {
  for (const [msg, want] of SUITE) {
    t.equal(md4(Buffer.from(msg, 'latin1')).toString('hex'), want, `MD4("${msg}")`);
  }
});

t.test('NT hash of "Password" (MS-NLMP 4.2.2.1.2, NTOWFv1)', async (t) => {
  t.equal(md4(Buffer.from('Password', 'utf16le')).toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
});

t.test('lengths around the 56-byte padding boundary do not throw and give 16 bytes', async (t) => {
  for (let n = 50; n < 70; n++) t.equal(md4(Buffer.alloc(n, 0x61)).length, 16);
});
