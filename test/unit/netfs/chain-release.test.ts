import t from 'tap';
import { NetfsInode, PageCache, BVECQ_MAX_SLOTS } from '../../../netfs/index.js';
import { FakeReadOps, FakeWriteOps, pseudoRandomBytes } from '../../helpers/fake-ops.js';

const KiB = 1024;

/** A few turns of the event loop, for setImmediate completions and collection. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

// The collector releases chain segments behind the collect cursor while later
// subrequests are in flight. A subrequest that starts exactly where a chain
// segment ends must still find its bytes after the segment before it is gone.
t.test('a write starting at a chain segment boundary survives the release of the segment before it', async (t) => {
  const fs = 4 * KiB;
  const boundary = BVECQ_MAX_SLOTS * fs;
  const size = boundary * 2 + 3 * fs;
  const rops = new FakeReadOps({ data: Buffer.alloc(0), rsize: 64 * KiB });
  const wops = new FakeWriteOps({
    server: rops,
    wsize: 64 * KiB,
    action: (sub) => (sub.start === boundary ? { kind: 'hang' } : { kind: 'ok' }),
  });
  const cache = new PageCache({ maxBytes: 16 * 1024 * KiB, folioSize: fs });
  const inode = new NetfsInode({ key: 'b', size: 0, ops: rops, writeOps: wops, cache, dirtyThreshold: 2 ** 40, dirtyExpireMs: 2 ** 40 });
  const data = pseudoRandomBytes(size, 11);
  await inode.write(0, data);
  const p = inode.flush();
  await settle();
  t.equal(inode.dirtyBytes, size - boundary, 'everything before the held write is clean');
  wops.action = () => ({ kind: 'ok' });
  wops.release();
  await p;
  t.ok(rops.data.subarray(0, size).equals(data), 'the server has every byte, the held write included');
  t.equal(inode.dirtyBytes, 0, 'all clean');
});

t.test('a read starting at a chain segment boundary survives the release of the segment before it', async (t) => {
  const fs = 4 * KiB;
  const boundary = BVECQ_MAX_SLOTS * fs;
  const size = boundary * 2;
  const data = pseudoRandomBytes(size, 12);
  const ops = new FakeReadOps({
    data,
    rsize: 64 * KiB,
    action: (sub) => (sub.start === boundary ? { kind: 'hang' } : { kind: 'ok' }),
  });
  const cache = new PageCache({ maxBytes: 16 * 1024 * KiB, folioSize: fs });
  const inode = new NetfsInode({ key: 'r', size, ops, cache, readaheadMax: 0 });
  const dst = Buffer.alloc(size);
  const p = inode.read(0, size, dst);
  await settle();
  ops.action = () => ({ kind: 'ok' });
  ops.release();
  t.equal(await p, size);
  t.ok(dst.equals(data), 'bytes match, the held read included');
});
