/** Landing buffers for unbuffered reads (src/read-buffers.ts): reused, bounded, big reads unpooled. */
import t from 'tap';
import { FUSE_READ_MAX, ReadBuffers } from '../../../src/read-buffers.js';

t.test('a buffer given back is the next one taken', async (t) => {
  const p = new ReadBuffers(2);
  const a = p.take(4096);
  t.equal(a.length, FUSE_READ_MAX, 'FUSE-sized, whatever the read asks');
  p.give(a);
  t.equal(p.take(100), a, 'reused');
  t.not(p.take(100), a, 'taken buffers are not handed out twice');
});

t.test('bounded, and reads larger than FUSE sends are not pooled', async (t) => {
  const p = new ReadBuffers(1);
  const [a, b] = [p.take(1), p.take(1)];
  p.give(a);
  p.give(b);
  t.equal(p.take(1), a);
  t.not(p.take(1), b, 'the second was dropped (keep = 1)');
  const big = p.take(FUSE_READ_MAX + 1);
  t.equal(big.length, FUSE_READ_MAX + 1);
  p.give(big);
  t.not(p.take(FUSE_READ_MAX + 1), big, 'never pooled');
});
