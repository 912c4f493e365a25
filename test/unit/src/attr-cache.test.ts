import t from 'tap';
import { AttrCache, PEEK_AFTER_FOUND, LIST_AFTER_MISSES, type AttrLookup } from '../../../src/attr-cache.js';
import { fuseJoin } from '../../../src/path-map.js';
import { namesChangedAt } from '../../../src/fs.js';

/** A lookup without the hit's expiry, for comparing with what was set. */
function noExpiry<T>(l: AttrLookup<T>): unknown {
  return l?.kind === 'hit' ? { kind: l.kind, stat: l.stat } : l;
}

t.test('ttl and negative entries', async (t) => {
  let now = 1000;
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => now });
  c.set('/a', { n: 1 });
  c.setNegative('/gone');
  t.same(noExpiry(c.get('/a')), { kind: 'hit', stat: { n: 1 } });
  t.same(c.get('/gone'), { kind: 'negative' });
  t.equal(c.get('/other'), undefined);
  now += 999;
  t.same(noExpiry(c.get('/a')), { kind: 'hit', stat: { n: 1 } });
  now += 1;
  t.equal(c.get('/a'), undefined, 'expired');
  t.equal(c.get('/gone'), undefined, 'negative expired');
});

t.test('directory listing fills attributes', async (t) => {
  let now = 0;
  const c = new AttrCache<{ n: number }>({ ttlMs: 500, now: () => now });
  c.setDir('/d', [{ name: 'x', stat: { n: 1 } }, { name: 'y', stat: { n: 2 } }], fuseJoin);
  t.same(c.getDir('/d'), ['x', 'y']);
  t.same(noExpiry(c.get('/d/y')), { kind: 'hit', stat: { n: 2 } });
  c.setDir('/', [{ name: 'top', stat: { n: 3 } }], fuseJoin);
  t.same(noExpiry(c.get('/top')), { kind: 'hit', stat: { n: 3 } });
  now = 500;
  t.equal(c.getDir('/d'), undefined);
});

t.test('invalidation by prefix', async (t) => {
  const c = new AttrCache<number>({ ttlMs: 1000 });
  for (const p of ['/a', '/a/b', '/a/b/c', '/ab', '/z']) c.set(p, 1);
  c.setDir('/a/b', [{ name: 'c', stat: 1 }], fuseJoin);
  c.invalidate('/a');
  t.equal(c.get('/a'), undefined);
  t.equal(c.get('/a/b/c'), undefined);
  t.equal(c.getDir('/a/b'), undefined);
  t.ok(c.get('/ab'), 'sibling with same prefix string kept');
  c.set('/a', 1);
  c.set('/a/k', 1);
  c.invalidate('/a', true);
  t.ok(c.get('/a/k'), 'exact keeps children');
  c.invalidate('/');
  t.equal(c.size, 0);
});

t.test('ttl 0 disables; bound on entries', async (t) => {
  const off = new AttrCache<number>({ ttlMs: 0 });
  off.set('/a', 1);
  t.equal(off.get('/a'), undefined);
  const small = new AttrCache<number>({ ttlMs: 1000, maxEntries: 2 });
  small.set('/1', 1);
  small.set('/2', 2);
  small.set('/3', 3);
  t.equal(small.get('/1'), undefined);
  t.ok(small.get('/3'));
});

t.test('a cached listing answers lookups of absent names, case-insensitively', async (t) => {
  let now = 0;
  const c = new AttrCache<number>({ ttlMs: 1000, now: () => now });
  t.equal(c.knownAbsent('/d', 'x'), false, 'no listing: unknown');
  c.setDir('/d', [{ name: 'Readme.TXT', stat: 1 }], fuseJoin);
  t.equal(c.knownAbsent('/d', 'other'), true);
  t.equal(c.knownAbsent('/d', 'README.txt'), false, 'the server would match it ignoring case');
  c.set('/d', 9);
  c.childAdded('/d', 'new');
  t.equal(c.knownAbsent('/d', 'NEW'), false, 'our own create is in the listing');
  t.equal(c.get('/d'), undefined, 'the directory attributes are dropped (times changed)');
  t.same(c.getDir('/d'), ['Readme.TXT', 'new']);
  c.childRemoved('/d', 'readme.txt');
  t.equal(c.knownAbsent('/d', 'Readme.TXT'), true, 'removal keeps the listing in step');
  now = 1000;
  t.equal(c.knownAbsent('/d', 'other'), false, 'an expired listing says nothing');
});

t.test('a cached listing does not rule out a name that differs only in Unicode form', async (t) => {
  const c = new AttrCache<number>({ ttlMs: 1000, now: () => 0 });
  c.setDir('/d', [{ name: 'cafe\u0301', stat: 1 }], fuseJoin);
  t.equal(c.knownAbsent('/d', 'caf\u00e9'), false, 'the NFC spelling goes to the server (which may hold it in NFC too)');
  t.equal(c.knownAbsent('/d', 'CAFE\u0301'), false);
  t.equal(c.knownAbsent('/d', 'cafe'), true);
});

t.test("a directory's identity outlives a change of its names, not its ttl or an invalidation", async (t) => {
  let now = 0;
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => now });
  c.set('/d', { n: 7 });
  c.set('/e', { n: 8 });
  c.childAdded('/d', 'x');
  c.childRemoved('/e', 'y');
  t.equal(c.get('/d'), undefined, 'its attributes are gone (its times moved)');
  t.same(c.identity('/d'), { n: 7 }, 'its identity stays');
  t.same(c.identity('/e'), { n: 8 });
  c.set('/d', { n: 9 });
  t.same(c.identity('/d'), { n: 9 }, 'a fresh stat wins');
  c.invalidate('/e', true);
  t.equal(c.identity('/e'), undefined, 'an invalidation drops it');
  c.childAdded('/d', 'z');
  now = 1000;
  t.equal(c.identity('/d'), undefined, 'it expires with the ttl');
  t.equal(c.identity('/never'), undefined);
  c.set('/p/q', { n: 1 });
  c.childAdded('/p/q', 'r');
  c.invalidate('/p');
  t.equal(c.identity('/p/q'), undefined, 'a prefix invalidation drops those below');
});

t.test('a lapsed listing: lookups count, and listing again is due once they outweigh it', async (t) => {
  let now = 0;
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => now });
  const names = Array.from({ length: 320 }, (_, i) => ({ name: `f${i}`, stat: { n: i } }));
  c.setDir('/d', names, fuseJoin);
  t.equal(c.relistDue('/d'), false, 'a live listing is never due');
  now = 1000;
  t.equal(c.knownAbsent('/d', 'new'), false, 'an expired listing rules nothing out');
  t.equal(c.get('/d/f1'), undefined, 'nor answers for its names');
  const due = Array.from({ length: 10 }, () => c.relistDue('/d'));
  t.same(due, [false, false, false, false, false, false, false, false, false, true], '320 names: due at the 10th lookup');
  t.equal(c.relistDue('/d'), false, 'counting starts again');
  c.setDir('/d', names, fuseJoin);
  t.equal(c.relistDue('/d'), false, 'listed again: nothing lapsed');
  t.equal(c.relistDue('/never-listed'), false, 'a directory never listed is never due');
  c.setDir('/small', [], fuseJoin);
  now = 2000;
  c.knownAbsent('/small', 'x');
  t.same([1, 2].map(() => c.relistDue('/small')), [true, true], 'a small one (no more than one reply) at every lookup: one round trip either way');
  c.setDir('/small', Array.from({ length: 33 }, (_, i) => ({ name: `s${i}`, stat: { n: i } })), fuseJoin);
  now = 3000;
  c.knownAbsent('/small', 'x');
  t.same([1, 2].map(() => c.relistDue('/small')), [false, true], '33 names: at the second');
  c.invalidate('/small');
  t.equal(c.relistDue('/small'), false, 'an invalidated directory forgets its lapsed listing');
});

t.test('a listing in flight while names change here is not cached', async (t) => {
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => 0 });
  const a = c.beginListing('/d');
  c.childRemoved('/d', 'gone');
  c.setDir('/d', [{ name: 'gone', stat: { n: 1 } }], fuseJoin, a);
  c.endListing(a);
  t.equal(c.getDir('/d'), undefined, 'not cached: it may predate the unlink');
  t.equal(c.get('/d/gone'), undefined, 'nor its entries');
  const b = c.beginListing('/d');
  c.childAdded('/e', 'x'); // another directory
  c.setDir('/d', [{ name: 'y', stat: { n: 2 } }], fuseJoin, b);
  c.endListing(b);
  t.same(c.getDir('/d'), ['y'], 'a change elsewhere leaves it be');
  const p = c.beginListing('/d');
  c.invalidate('/');
  c.setDir('/d', [], fuseJoin, p);
  t.equal(c.getDir('/d'), undefined, 'an invalidation above it makes it stale too');
});

t.test('names added and removed keep a listing in step, case-folded', async (t) => {
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => 0 });
  c.setDir('/d', [{ name: 'A', stat: { n: 1 } }, { name: 'a', stat: { n: 2 } }, { name: 'b', stat: { n: 3 } }], fuseJoin);
  c.childRemoved('/d', 'a');
  t.same(c.getDir('/d'), ['b'], 'both spellings the server would match go');
  c.childAdded('/d', 'C');
  c.addName('/d', 'c');
  t.same(c.getDir('/d'), ['b', 'C'], 'added once');
  t.equal(c.knownAbsent('/d', 'c'), false);
  t.equal(c.knownAbsent('/d', 'z'), true);
});

t.test('invalidateFile forgets every cached name of one file id, and only those', async (t) => {
  const c = new AttrCache<{ id: bigint }>({ ttlMs: 1000, now: () => 0, idOf: (st) => st.id });
  c.set('/a', { id: 7n });
  c.set('/d/b', { id: 7n });
  c.set('/c', { id: 8n });
  c.set('/z', { id: 0n });
  c.set('/d/b', { id: 9n }); // the name now holds another file
  c.invalidateFile(7n);
  t.equal(c.get('/a'), undefined, 'a name of the file');
  t.same(noExpiry(c.get('/d/b')), { kind: 'hit', stat: { id: 9n } }, 'a name re-set to another file stays');
  t.same(noExpiry(c.get('/c')), { kind: 'hit', stat: { id: 8n } }, 'another file stays');
  c.invalidate('/d');
  c.invalidateFile(9n);
  t.same(noExpiry(c.get('/z')), { kind: 'hit', stat: { id: 0n } }, 'no id: never matched');
});

t.test("with movedTimes, a directory whose names change here keeps its entry, times moved, for the rest of its ttl", async (t) => {
  let now = 0;
  const moved: Array<[number, number]> = [];
  const c = new AttrCache<{ n: number; t: number }>({
    ttlMs: 1000,
    now: () => now,
    movedTimes: (st, at) => {
      moved.push([st.n, at]);
      return { ...st, t: at };
    },
  });
  c.set('/d', { n: 7, t: 0 });
  c.set('/e', { n: 8, t: 0 });
  now = 300;
  c.childAdded('/d', 'x');
  now = 400;
  c.childRemoved('/e', 'y');
  t.same(noExpiry(c.get('/d')), { kind: 'hit', stat: { n: 7, t: 300 } }, 'added: the entry stays, its times at the change');
  t.same(noExpiry(c.get('/e')), { kind: 'hit', stat: { n: 8, t: 400 } }, 'removed: likewise');
  t.same(moved, [[7, 300], [8, 400]]);
  now = 1000;
  t.equal(c.get('/d'), undefined, 'it still expires when the stat it came from would have');
  c.childAdded('/d', 'z');
  t.equal(c.get('/d'), undefined, 'nothing to move once expired');
  t.equal(moved.length, 2);
});

t.test("namesChangedAt moves a directory's modification and change times to the change, never back", async (t) => {
  const d = (ms: number) => new Date(ms);
  const st = {
    fileIndex: 5n, size: 0, allocationSize: 0, attributes: 0x10, isDirectory: true, nlink: 2,
    creationTime: d(1), lastAccessTime: d(2), lastWriteTime: d(3000), changeTime: d(1000),
  };
  const at = namesChangedAt(st, 2000);
  t.same([at.lastWriteTime.getTime(), at.changeTime.getTime()], [3000, 2000], 'a later time stays, an earlier one moves');
  t.same([at.creationTime.getTime(), at.lastAccessTime.getTime(), at.fileIndex, at.isDirectory], [1, 2, 5n, true], 'the rest as it was');
});

t.test('lastDropped: the stat an exact invalidation dropped, until it would have expired, and not past a fresh or wider change', async (t) => {
  let now = 0;
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => now });
  c.set('/d/f', { n: 1 });
  c.set('/d/g', { n: 2 });
  c.set('/d/h', { n: 3 });
  c.invalidate('/d/f', true);
  c.invalidate('/d/g', true);
  c.invalidate('/d/h', true);
  t.equal(c.get('/d/f'), undefined, 'the entry itself is gone');
  t.same(c.lastDropped('/d/f'), { n: 1 }, 'the dropped stat is kept aside');
  c.set('/d/g', { n: 9 });
  t.equal(c.lastDropped('/d/g'), undefined, 'a fresh stat supersedes it');
  c.setNegative('/d/h');
  t.equal(c.lastDropped('/d/h'), undefined, 'so does a negative entry');
  c.set('/e/x', { n: 4 });
  c.invalidate('/e/x', true);
  c.invalidate('/e');
  t.equal(c.lastDropped('/e/x'), undefined, 'a prefix invalidation drops those below');
  t.equal(c.lastDropped('/never'), undefined);
  now = 1000;
  t.equal(c.lastDropped('/d/f'), undefined, 'it expires when the stat would have');
});

t.test('a directory never listed: a listing is due after lookups that found nothing, and only within a ttl', async (t) => {
  let now = 0;
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => now });
  for (let i = 0; i < LIST_AFTER_MISSES - 1; i++) c.missedByLookup('/d');
  t.equal(c.listDue('/d'), false, `${LIST_AFTER_MISSES - 1} missed: not yet`);
  c.missedByLookup('/d');
  t.equal(c.listDue('/d'), true, `${LIST_AFTER_MISSES} missed within a ttl: due`);
  t.equal(c.listDue('/d'), false, 'counting starts again');
  t.equal(c.peekDue('/d'), false, 'misses do not count toward a peek');
  for (let i = 0; i < LIST_AFTER_MISSES; i++) c.foundByLookup('/f');
  t.equal(c.listDue('/f'), false, 'nor names found toward a listing');
  for (let i = 0; i < LIST_AFTER_MISSES; i++) {
    c.missedByLookup('/slow');
    now += 200;
  }
  t.equal(c.listDue('/slow'), false, 'misses spread over more than a ttl do not add up');
  c.setDir('/listed', [], fuseJoin);
  for (let i = 0; i < LIST_AFTER_MISSES; i++) c.missedByLookup('/listed');
  t.equal(c.listDue('/listed'), false, 'a directory with a live listing is not counted');
  now += 1000;
  t.equal(c.hasDir('/listed'), false, 'its listing lapses');
  for (let i = 0; i < LIST_AFTER_MISSES; i++) c.missedByLookup('/listed');
  t.equal(c.listDue('/listed'), false, 'a lapsed listing is relistDue\'s');
  for (let i = 0; i < LIST_AFTER_MISSES; i++) c.missedByLookup('/big');
  c.stopPeeking('/big');
  t.equal(c.listDue('/big'), false, 'a directory too big for a capped listing is not listed for misses again');
  // The listing kept answers absent names.
  for (let i = 0; i < LIST_AFTER_MISSES; i++) c.missedByLookup('/e');
  t.equal(c.listDue('/e'), true);
  c.setDir('/e', [{ name: 'a', stat: { n: 1 } }], fuseJoin);
  t.equal(c.knownAbsent('/e', 'b'), true, 'a name the listing lacks is known absent');
  t.equal(c.knownAbsent('/e', 'A'), false, 'one differing only in case is not');
  c.clear();
  for (let i = 0; i < LIST_AFTER_MISSES - 1; i++) c.missedByLookup('/g');
  c.clear();
  c.missedByLookup('/g');
  t.equal(c.listDue('/g'), false, 'clear() forgets the count');
});

t.test('a directory never listed: a peek is due after lookups that found names, and fills only what it showed', async (t) => {
  let now = 0;
  const c = new AttrCache<{ n: number }>({ ttlMs: 1000, now: () => now });
  t.equal(c.peekDue('/d'), false, 'nothing found yet');
  for (let i = 0; i < PEEK_AFTER_FOUND - 1; i++) c.foundByLookup('/d');
  t.equal(c.peekDue('/d'), false, `${PEEK_AFTER_FOUND - 1} found: not yet`);
  c.foundByLookup('/d');
  t.equal(c.peekDue('/d'), true, `${PEEK_AFTER_FOUND} found within a ttl: due`);
  t.equal(c.peekDue('/d'), false, 'counting starts again');
  // Lookups spread wider than a ttl do not add up.
  for (let i = 0; i < PEEK_AFTER_FOUND; i++) {
    c.foundByLookup('/slow');
    now += 400;
  }
  t.equal(c.peekDue('/slow'), false, 'four found over 1.6 s (ttl 1 s): not due');
  // A directory with a listing (live or lapsed) is relistDue's, not a peek's.
  c.setDir('/listed', [], fuseJoin);
  for (let i = 0; i < PEEK_AFTER_FOUND; i++) c.foundByLookup('/listed');
  t.equal(c.peekDue('/listed'), false, 'a listed directory is not peeked at');

  const ticket = c.beginListing('/d');
  c.set('/d/fresh', { n: 100 });
  c.set('/d/changed', { n: 101 });
  c.invalidate('/d/changed', true); // a change made here dropped it
  c.setListed('/d', [{ name: 'a', stat: { n: 1 } }, { name: 'fresh', stat: { n: 2 } }, { name: 'changed', stat: { n: 3 } }], fuseJoin, ticket);
  c.endListing(ticket);
  t.same(noExpiry(c.get('/d/a')), { kind: 'hit', stat: { n: 1 } }, 'a name the peek showed is known');
  t.same(noExpiry(c.get('/d/fresh')), { kind: 'hit', stat: { n: 100 } }, 'a live entry keeps its own stat');
  t.equal(c.get('/d/changed'), undefined, 'an entry a change here dropped is not brought back');
  t.equal(c.getDir('/d'), undefined, 'no listing is kept');
  t.equal(c.knownAbsent('/d', 'other'), false, 'so a name the peek did not show is still asked for');

  const stale = c.beginListing('/d');
  c.childAdded('/d', 'made-here');
  c.setListed('/d', [{ name: 'b', stat: { n: 4 } }], fuseJoin, stale);
  c.endListing(stale);
  t.equal(c.get('/d/b'), undefined, 'names changed here while the peek was on its way: it is dropped');

  for (let i = 0; i < PEEK_AFTER_FOUND; i++) c.foundByLookup('/big');
  c.stopPeeking('/big');
  t.equal(c.peekDue('/big'), false, 'a directory too big to peek at is not peeked at again');
  for (let i = 0; i < PEEK_AFTER_FOUND; i++) c.foundByLookup('/big');
  t.equal(c.peekDue('/big'), false, 'nor counted');
});
