/**
 * How listPath sizes its QUERY_DIRECTORY requests (transport/tree-list.ts),
 * seen by a proxy in front of the real Samba: the opening compound asks for
 * FIRST_LIST_BUFFER twice, each later query for twice the one before (up to
 * the largest the credits allow), so a big directory comes in a few replies
 * of which the first arrive early; every name is listed once.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { connect, type SmbConnectOptions } from '../../transport/index.js';
import { FIRST_LIST_BUFFER } from '../../transport/tree-list.js';
import { countingProxy, recordOutputBufferLengths } from '../helpers/proxy-listing.js';
import { freshShareDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'listing-buffers';
const base = await freshShareDir(t, samba.sharePath, dirName);
// Some 170 bytes an entry: about 500 KiB of entries, more than the two first replies hold.
const FILES = 3000;
const name = (i: number) => `an-entry-with-a-longer-name-${String(i).padStart(5, '0')}`;
for (let i = 0; i < FILES; i++) await writeFile(path.join(base, name(i)), '');

t.test('a big directory: 64 KiB twice, then doubling; every name once', { timeout: 60000 }, async (t) => {
  const rec = recordOutputBufferLengths();
  const proxy = await countingProxy(t, samba, { toServer: rec.hook });
  const opts: SmbConnectOptions = {
    host: '127.0.0.1', port: proxy.port, username: samba.user, password: samba.pass, domain: '', guest: false,
    timeoutMs: 10000, echoIntervalMs: 0,
  };
  const client = await connect(opts);
  t.teardown(() => client.close());
  const tree = await client.treeConnect('test');
  const { entries } = await tree.listPath(dirName);
  t.equal(entries.length, FILES, 'every entry');
  t.same(new Set(entries.map((e) => e.name)), new Set(Array.from({ length: FILES }, (_, i) => name(i))), 'each name once');
  const l = rec.lengths;
  t.same(l.slice(0, 2), [FIRST_LIST_BUFFER, FIRST_LIST_BUFFER], `the opening compound asks for ${FIRST_LIST_BUFFER} twice (${JSON.stringify(l)})`);
  const cap = Math.max(...l);
  t.ok(cap >= 4 * FIRST_LIST_BUFFER, `later queries grow (largest ${cap})`);
  for (let i = 2; i < l.length; i++) t.equal(l[i], Math.min(2 * l[i - 1]!, cap), `query ${i + 1}: twice the one before, or the cap`);
  // About 500 KiB fill the first four replies or five; the two queries in flight then find the end.
  t.ok(l.length <= 8, `${l.length} queries for ${FILES} entries`);
});
