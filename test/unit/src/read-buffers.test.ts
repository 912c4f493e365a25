/** Landing buffers for unbuffered reads (src/read-buffers.ts): reused, bounded, two sizes, bigger reads unpooled. */
import t from 'tap';
import { FUSE_READ_MAX, READ_BUFFER_SMALL, ReadBuffers } from '../../../src/read-buffers.js';

t.test('a buffer given back is the next one taken', async (t) => {
  const p = new ReadBuffers(2);
  const a = p.take(4096);
  t.equal(a.length, READ_BUFFER_SMALL, 'the small size, whatever the read asks');
  p.give(a);
  t.equal(p.take(100), a, 'reused');
  t.not(p.take(100), a, 'taken buffers are not handed out twice');
});

t.test('reads past the small size take a FUSE_READ_MAX buffer, from their own pool', async (t) => {
  const p = new ReadBuffers(4);
  const b = p.take(READ_BUFFER_SMALL + 1);
  t.equal(b.length, FUSE_READ_MAX);
  p.give(b);
  t.not(p.take(4096), b, 'a small read does not get it');
  t.equal(p.take(FUSE_READ_MAX), b, 'a big read does');
});

t.test('bounded, and reads larger than FUSE sends are not pooled', async (t) => {
  const p = new ReadBuffers(1);
  const [a, b] = [p.take(1), p.take(1)];
  p.give(a);
  p.give(b);
  t.equal(p.take(1), a);
  t.not(p.take(1), b, 'the second was dropped (keep = 1)');
  const [c, d] = [p.take(FUSE_READ_MAX), p.take(FUSE_READ_MAX)];
  p.give(c);
  p.give(d);
  t.equal(p.take(FUSE_READ_MAX), c);
  t.not(p.take(FUSE_READ_MAX), d, 'one big buffer kept at most (keep = 1)');
  const big = p.take(FUSE_READ_MAX + 1);
  t.equal(big.length, FUSE_READ_MAX + 1);
  p.give(big);
  t.not(p.take(FUSE_READ_MAX + 1), big, 'never pooled');
});
