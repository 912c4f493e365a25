import t from 'tap';
import { fuseJoin, fuseParent, nameFromSmb, nameToSmb, SmbPathMap, smbPathToFuse } from '../../../src/path-map.js';

const fusePathToSmb = (p: string, prefix = '') => new SmbPathMap('nfc', prefix).toSmb(p);

t.test('paths', async (t) => {
  t.equal(fusePathToSmb('/'), '');
  t.equal(fusePathToSmb('/a'), 'a');
  t.equal(fusePathToSmb('/a/b/c.txt'), 'a\\b\\c.txt');
  t.equal(fusePathToSmb('/a/b', 'pre\\fix'), 'pre\\fix\\a\\b');
  t.equal(fusePathToSmb('/', 'pre'), 'pre');
  t.equal(smbPathToFuse(''), '/');
  t.equal(smbPathToFuse('a\\b'), '/a/b');
  t.equal(fuseParent('/a/b'), '/a');
  t.equal(fuseParent('/a'), '/');
  t.equal(fuseParent('/'), '/');
  t.equal(fuseJoin('/', 'x'), '/x');
  t.equal(fuseJoin('/a', 'x'), '/a/x');
});

t.test('mapposix (SFM) table', async (t) => {
  t.equal(nameToSmb('"*:<>?\\|'), '\uf020\uf021\uf022\uf023\uf024\uf025\uf026\uf027');
  t.equal(nameToSmb('a\x01b\x1f'), 'a\uf001b\uf01f');
  t.equal(nameToSmb('trail. '), 'trail.\uf028');
  t.equal(nameToSmb('dot.'), 'dot\uf029');
  t.equal(nameToSmb('.'), '.');
  t.equal(nameToSmb('..'), '..');
  t.equal(nameToSmb('.hidden'), '.hidden');
  t.equal(nameToSmb('plain name.txt'), 'plain name.txt');
  t.equal(nameToSmb('ünï 文字'), 'ünï 文字');
  t.equal(fusePathToSmb('/dir:1/f?.txt'), 'dir\uf0221\\f\uf025.txt');
  t.equal(nameFromSmb('\uf02a\uf000\uf030'), '\uf02a\uf000\uf030', 'code points outside the table untouched');
});

t.test('round trips', async (t) => {
  const names = ['a:b', 'what?', 'x*y', 'q"uote"', '<tag>', 'p|pe', 'back\\slash', 'end.', 'end ', 'ctl\x07', 'normal', 'ä ö.txt'];
  for (const n of names) t.equal(nameFromSmb(nameToSmb(n)), n, JSON.stringify(n));
  const p = '/d:1/e?f/g<h>.';
  t.equal(smbPathToFuse(fusePathToSmb(p)), p);
});
