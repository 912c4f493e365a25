import t from 'tap';
import { uniqueId16 } from '../../../transport/unique-id.js';

t.test('uniqueId16: 16 bytes each, all distinct across pool refills, owned by the caller', async (t) => {
  const seen = new Set<string>();
  const ids: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const id = uniqueId16();
    t.equal(id.length, 16);
    ids.push(id);
    seen.add(id.toString('hex'));
  }
  t.equal(seen.size, 1000, '1000 ids (four pools) all distinct');
  const before = ids[1]!.toString('hex');
  ids[0]!.fill(0);
  t.equal(ids[1]!.toString('hex'), before, 'changing one id leaves the next as it was');
  t.notOk(ids.some((id, i) => i > 0 && id.every((b) => b === 0)), 'none all zeros');
});
