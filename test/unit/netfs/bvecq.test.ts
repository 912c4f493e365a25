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

t.test('a position taken on an empty chain names the first byte once data arrives', async (t) => {
  const q = new Bvecq();
  const p = q.start();
  t.ok(Number.isNaN(p.fpos));
  q.append(Buffer.from('hello'), 50);
  t.equal(p.fpos, 50);
  const out = Buffer.alloc(5);
  t.equal(p.copyOut(out, 0, 5), 5);
  t.equal(out.toString(), 'hello');
  t.equal(p.fpos, 55, 'at the end: just past the last byte');
});

t.test('a position at the end follows later appends', async (t) => {
  const q = Bvecq.fromBuffers([Buffer.from('ab')], 0);
  const p = q.at(2);
  t.equal(p.remaining(), 0);
  q.append(Buffer.from('cd'));
  t.equal(p.remaining(), 2);
  t.same(p.slices(2).map(String), ['cd']);
  for (let i = 0; i < 200; i++) q.append(Buffer.from([i]));
  t.equal(p.remaining(), 200, 'across new segments');
  p.advance(150);
  t.equal(p.fpos, 154);
});

t.test('copyIn and copyOut stop at the end of the flat buffer', async (t) => {
  const q = Bvecq.fromBuffers([Buffer.alloc(4), Buffer.alloc(4)]);
  const p = q.start();
  t.equal(p.copyIn(Buffer.from('xyz'), 1, 8), 2, 'only the bytes src has');
  t.equal(p.fpos, 2, 'advanced by what was copied');
  t.equal(q.toBuffer().subarray(0, 2).toString(), 'yz');
  const small = Buffer.alloc(3);
  const r = q.start();
  t.equal(r.copyOut(small, 1, 8), 2, 'only the room dst has');
  t.equal(small.subarray(1).toString(), 'yz');
  t.equal(r.copyOut(small, 5, 1), 0, 'offset past dst');
});

t.test('zero, slices and advance across many segments', async (t) => {
  const bufs = Array.from({ length: 200 }, (_, i) => Buffer.alloc(7, i + 1));
  const q = Bvecq.fromBuffers(bufs, 1000);
  t.equal(q.length, 1400);
  t.ok(q.head !== q.tail, 'more than one segment');
  const p = q.at(3);
  t.equal(p.zero(700), 700);
  const all = q.toBuffer();
  t.ok(all.subarray(3, 703).every((b) => b === 0));
  t.equal(all[2], 1);
  t.equal(all[703], Math.floor(703 / 7) + 1);
  const s = q.at(5).slices(20);
  t.equal(s.reduce((n, b) => n + b.length, 0), 20);
  t.throws(() => q.at(1390).slices(11));
  t.equal(q.at(1400).remaining(), 0);
});

t.test('releaseBefore drops whole segments behind a position only', async (t) => {
  const q = Bvecq.fromBuffers(Array.from({ length: 130 }, () => Buffer.alloc(10)), 0);
  const p = q.at(700); // in the second segment (slots 64..127)
  q.releaseBefore(p);
  t.equal(q.length, 1300 - 640);
  t.equal(q.head?.fpos, 640);
  t.equal(p.fpos, 700, 'the position still names its byte');
  q.releaseBefore(p);
  t.equal(q.length, 660, 'idempotent');
  const other = Bvecq.fromBuffers([Buffer.alloc(10)]);
  t.throws(() => q.releaseBefore(other.start()), 'refuses a position of another chain');
  const stale = Bvecq.fromBuffers(Array.from({ length: 130 }, () => Buffer.alloc(1)), 0);
  const early = stale.at(1);
  stale.releaseBefore(stale.at(129));
  t.throws(() => stale.releaseBefore(early), 'refuses a position on a released segment');
  t.equal(stale.length, 2, 'and releases nothing');
  const empty = new Bvecq();
  const ep = empty.start();
  empty.append(Buffer.alloc(5));
  empty.releaseBefore(ep);
  t.equal(empty.length, 5, 'an unplaced position names the head');
});

t.test('splice marks a discontiguity', async (t) => {
  const a = Bvecq.fromBuffers([Buffer.from('ab')], 0);
  const b = Bvecq.fromBuffers([Buffer.from('cd')], 2);
  const c = Bvecq.fromBuffers([Buffer.from('ef')], 9);
  a.splice(b);
  a.splice(c);
  t.equal(a.length, 6);
  t.equal(b.length, 0);
  t.equal(a.toBuffer().toString(), 'abcdef');
  t.equal(a.head?.next?.discontig, false);
  t.equal(a.tail?.discontig, true);
  t.equal(a.at(4).fpos, 9);
});
