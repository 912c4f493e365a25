import t from 'tap';
import { Bvecq } from '../../../netfs/bvecq.js';

t.test('copyIn then copyOut across slots and segments', async (t) => {
  const bufs = [Buffer.alloc(3), Buffer.alloc(5), Buffer.alloc(2)];
  const q = Bvecq.fromBuffers(bufs, 100);
  t.equal(q.length, 10);
  const src = Buffer.from('0123456789');
  const p = q.start();
  t.equal(p.copyIn(src, 0, 10), 10);
  t.equal(q.toBuffer().toString(), '0123456789');
  t.equal(bufs[1]!.toString(), '34567', 'slots are views: the caller buffer changed');
  const p2 = q.at(4);
  t.equal(p2.fpos, 104);
  t.same(p2.slices(4).map((b) => b.toString()), ['4567'].length ? ['4567'] : []);
});

t.test('discontiguous append starts a new segment', async (t) => {
  const q = new Bvecq();
  q.append(Buffer.from('ab'), 0);
  q.append(Buffer.from('cd'), 2);
  q.append(Buffer.from('ef'), 10);
  t.equal(q.head, q.tail?.prev);
  t.equal(q.tail?.discontig, true);
  t.equal(q.tail?.fpos, 10);
  const p = q.at(3);
  t.equal(p.fpos, 3);
  p.advance(1);
  t.equal(p.fpos, 10);
  t.throws(() => q.at(7));
});
