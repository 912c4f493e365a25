import t from 'tap';
import { normalizeName, SmbPathMap } from '../../../src/path-map.js';
import { parseArgs, type ParseEnv } from '../../../src/config.js';

const NFC = 'caf\u00e9';
const NFD = 'cafe\u0301';

t.test('names are sent in the chosen form', async (t) => {
  t.equal(normalizeName(NFD, 'nfc'), NFC);
  t.equal(normalizeName(NFC, 'nfd'), NFD);
  const nfc = new SmbPathMap('nfc');
  t.equal(nfc.toSmb(`/${NFD}/${NFD}.txt`), `${NFC}\\${NFC}.txt`);
  t.equal(nfc.toSmb(`/${NFC}`), NFC);
  const nfd = new SmbPathMap('nfd', 'pre');
  t.equal(nfd.toSmb(`/${NFC}`), `pre\\${NFD}`);
  t.equal(nfd.toSmb('/'), 'pre');
  t.equal(nfd.toSmb('/a:b'), 'pre\\a\uf022b', 'the mapposix mapping still applies');
});

t.test('a name the server holds outside the chosen form is sent as stored', async (t) => {
  const m = new SmbPathMap('nfc');
  t.equal(m.asWritten(`/${NFC}`), undefined, 'a name in the chosen form has no other spelling to try');
  t.equal(m.asWritten('/plain'), undefined);
  t.equal(m.asWritten(`/d/${NFD}`), `d\\${NFD}`, 'the other spelling to try after ENOENT');
  m.noteAsStored(`/${NFD}`);
  m.noteAsStored(`/${NFC}`); // already in form: nothing to remember
  t.equal(m.toSmb(`/${NFD}/${NFD}`), `${NFD}\\${NFC}`, 'only the remembered name keeps its spelling');
  t.equal(m.asWritten(`/${NFD}`), undefined, 'already sent as stored');
  t.equal(m.toSmb(`/${NFC}`), NFC, 'the NFC spelling still goes out as NFC');
  m.noteAsStored(`/${NFD}/${NFD}`);
  m.forget(`/${NFD}`, true);
  t.equal(m.toSmb(`/${NFD}/${NFD}`), `${NFC}\\${NFC}`, 'forgotten with everything below');
});

t.test('unicode= option', async (t) => {
  const pe: ParseEnv = { env: { USER: 'u', PASSWD: 'p' }, readFile: () => '', fileMode: () => 0o600, cwd: '/', uid: 0, gid: 0 };
  const cfg = (o: string[]) => {
    const r = parseArgs(['//h/s', '/mnt', ...o], pe);
    if (r.kind !== 'mount') throw new Error('not a mount');
    return r.config;
  };
  t.equal(cfg([]).unicode, 'nfc');
  t.equal(cfg(['-o', 'unicode=nfd']).unicode, 'nfd');
  t.equal(cfg(['-o', 'unicode=NFC']).unicode, 'nfc');
  t.throws(() => cfg(['-o', 'unicode=nfkc']), /bad value for unicode: 'nfkc' \(nfc or nfd\)/);
  t.throws(() => cfg(['-o', 'unicode']), /needs a value/);
});

t.test('toSmb remembers its answers only while no name is held as stored', async (t) => {
  const m = new SmbPathMap('nfc');
  const nfd = '/dir/cafe\u0301.txt';
  const nfc = 'dir\\caf\u00e9.txt';
  t.equal(m.toSmb(nfd), nfc, 'the chosen form');
  t.equal(m.toSmb(nfd), nfc, 'the same again (remembered)');
  m.noteAsStored(nfd);
  t.equal(m.toSmb(nfd), 'dir\\cafe\u0301.txt', 'held as stored: the spelling as written, not the remembered answer');
  m.forget(nfd);
  t.equal(m.toSmb(nfd), nfc, 'forgotten: the chosen form again');
});
