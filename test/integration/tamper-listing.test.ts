/**
 * Endless directory listings (issue 7, point 5), made by a tampering proxy
 * in front of the real Samba:
 *  - STATUS_NO_MORE_FILES rewritten into success with an empty buffer;
 *  - SMB2_RESTART_SCANS set on every request, so the server hands back the
 *    same entries forever;
 * each listing fails with SmbProtocolError after two requests (not
 * thousands), well within a second. An abandoned listing sends nothing more;
 * untampered, or spread over many small replies, everything is listed. The
 * same for listPath (its opening compound and queries in flight).
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { connect, SmbProtocolError, type SmbConnectOptions, type SmbTree } from '../../transport/index.js';
import { SmbCancelledError } from '../../transport/errors.js';
import type { FrameHook } from '../helpers/proxy.js';
import { countingProxy, emptyInsteadOfNoMoreFiles, restartEveryScan, shrinkOutputBuffer } from '../helpers/proxy-listing.js';
import { freshShareDir } from '../helpers/rw.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

const dirName = 'tamper-listing';
const base = await freshShareDir(t, samba.sharePath, dirName);
const FILES = 40;
for (let i = 0; i < FILES; i++) await writeFile(path.join(base, `f${i}`), String(i));

/** A tree through a proxy with the given hooks, and a count of QUERY_DIRECTORY requests. */
async function treeVia(toServer?: FrameHook, toClient?: FrameHook): Promise<{ tree: SmbTree; queries: () => number }> {
  const proxy = await countingProxy(t, samba, { ...(toServer ? { toServer } : {}), ...(toClient ? { toClient } : {}) });
  const opts: SmbConnectOptions = {
    host: '127.0.0.1', port: proxy.port, username: samba.user, password: samba.pass, domain: '', guest: false,
    timeoutMs: 10000, echoIntervalMs: 0,
  };
  const client = await connect(opts);
  t.teardown(() => client.close());
  return { tree: await client.treeConnect('test'), queries: proxy.queries };
}

t.test('control: untampered, every entry is listed and the loop ends on STATUS_NO_MORE_FILES', async (t) => {
  const { tree, queries } = await treeVia();
  const dir = await tree.open(dirName, { directory: true });
  const entries = await tree.listDirectory(dir.fileId);
  await tree.close(dir.fileId);
  t.equal(entries.length, FILES);
  t.same(new Set(entries.map((e) => e.name)), new Set(Array.from({ length: FILES }, (_, i) => `f${i}`)));
  t.equal(queries(), 2, 'one reply with entries, one STATUS_NO_MORE_FILES');
});

t.test('control: a listing spread over many small replies still ends with every entry once', async (t) => {
  const { tree, queries } = await treeVia(shrinkOutputBuffer(512));
  const dir = await tree.open(dirName, { directory: true });
  const entries = await tree.listDirectory(dir.fileId);
  await tree.close(dir.fileId);
  t.equal(entries.length, FILES);
  t.equal(new Set(entries.map((e) => e.name)).size, FILES, 'no name twice');
  t.ok(queries() > 5, `${queries()} requests of 512 bytes each`);
});

t.test('success with an empty buffer instead of STATUS_NO_MORE_FILES: fails after two requests', async (t) => {
  const empty = emptyInsteadOfNoMoreFiles();
  const { tree, queries } = await treeVia(undefined, empty.hook);
  const dir = await tree.open(dirName, { directory: true });
  const t0 = Date.now();
  await t.rejects(tree.listDirectory(dir.fileId), SmbProtocolError);
  const ms = Date.now() - t0;
  await tree.close(dir.fileId);
  t.ok(empty.rewritten() >= 1, 'the proxy did rewrite a reply');
  t.equal(queries(), 2, 'no request after the empty reply');
  t.ok(ms < 3000, `ended in ${ms} ms`);
});

t.test('the same entries on every reply: fails after two requests', async (t) => {
  const { tree, queries } = await treeVia(restartEveryScan());
  const dir = await tree.open(dirName, { directory: true });
  const t0 = Date.now();
  const err = await tree.listDirectory(dir.fileId).then(() => null, (e: unknown) => e);
  const ms = Date.now() - t0;
  await tree.close(dir.fileId);
  t.ok(err instanceof SmbProtocolError, `SmbProtocolError: ${String(err)}`);
  t.match(String(err), /no new names/);
  t.equal(queries(), 2, 'the repeat is caught on the second reply');
  t.ok(ms < 3000, `ended in ${ms} ms`);
});

t.test('an abandoned listing sends no further request', async (t) => {
  const { tree, queries } = await treeVia(restartEveryScan());
  const dir = await tree.open(dirName, { directory: true });
  const gaveUp = new AbortController();
  gaveUp.abort();
  await t.rejects(tree.listDirectory(dir.fileId, gaveUp.signal), SmbCancelledError);
  await tree.close(dir.fileId);
  t.equal(queries(), 0);
});

// listPath: CREATE+QUERY_DIRECTORY+QUERY_DIRECTORY in one compound, then two queries in flight.
t.test('listPath: every entry and the directory\'s own attributes; two queries for a directory that fits one reply', async (t) => {
  const { tree, queries } = await treeVia();
  const { stat, entries } = await tree.listPath(dirName);
  t.ok(stat.isDirectory, 'the directory\'s attributes');
  t.not(stat.fileIndex, 0n, 'with its file id');
  t.same(new Set(entries.map((e) => e.name)), new Set(Array.from({ length: FILES }, (_, i) => `f${i}`)));
  t.equal(queries(), 2, 'both in the opening compound');
});

t.test('listPath over many small replies: every entry once', async (t) => {
  const { tree, queries } = await treeVia(shrinkOutputBuffer(512));
  const { entries } = await tree.listPath(dirName);
  t.equal(entries.length, FILES);
  t.equal(new Set(entries.map((e) => e.name)).size, FILES, 'no name twice');
  t.ok(queries() > 5, `${queries()} requests of 512 bytes each`);
});

t.test('listPath: the same entries on every reply fail it within the opening compound', async (t) => {
  const { tree, queries } = await treeVia(restartEveryScan());
  const err = await tree.listPath(dirName).then(() => null, (e: unknown) => e);
  t.ok(err instanceof SmbProtocolError, `SmbProtocolError: ${String(err)}`);
  t.equal(queries(), 2, 'no request after the compound');
});

t.test('listPath: success with an empty buffer instead of STATUS_NO_MORE_FILES fails it', async (t) => {
  const empty = emptyInsteadOfNoMoreFiles();
  const { tree, queries } = await treeVia(undefined, empty.hook);
  await t.rejects(tree.listPath(dirName), SmbProtocolError);
  t.ok(empty.rewritten() >= 1, 'the proxy did rewrite a reply');
  t.equal(queries(), 2);
});

t.test('listPath: an abandoned listing sends nothing', async (t) => {
  const { tree, queries } = await treeVia();
  const gaveUp = new AbortController();
  gaveUp.abort();
  await t.rejects(tree.listPath(dirName, gaveUp.signal), SmbCancelledError);
  t.equal(queries(), 0);
});

t.test('listPath of a file: not a directory', async (t) => {
  const { tree } = await treeVia();
  const err = await tree.listPath(`${dirName}\\f1`).then(() => null, (e: unknown) => e);
  t.equal((err as { status?: number } | null)?.status, 0xc0000103, `STATUS_NOT_A_DIRECTORY: ${String(err)}`);
});
