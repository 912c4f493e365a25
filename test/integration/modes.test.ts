/**
 * Modes in security descriptors (modefromsid) against a real Samba, on SMB
 * 2.0.2 and 3.1.1: stat reads the mode in the same compound, setMode writes
 * and reads it back, and what Samba does with it: it ignores a DACL holding
 * an S-1-5-88-3 ACE (the tree learns that once and writes the owner, group
 * and Everyone ACEs alone), keeps the rwx bits as the file's POSIX mode and
 * cannot keep setuid, setgid or sticky bits.
 */
import t from 'tap';
import { mkdir, rm, stat as lstat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { connect, Dialect, type SmbConnectOptions } from '../../transport/index.js';
import { startSamba } from '../helpers/samba.js';

const samba = await startSamba();
t.teardown(() => samba.stop());

function opts(d: Dialect): SmbConnectOptions {
  return { host: samba.host, port: samba.port, username: samba.user, password: samba.pass, domain: '', guest: false, timeoutMs: 20000, minDialect: d, maxDialect: d };
}

for (const [name, d] of [['2.0.2', Dialect.SMB2_0_2], ['3.1.1', Dialect.SMB3_1_1]] as const) {
  t.test(`SMB ${name}`, async (t) => {
    const dir = `modes-int-${name}`;
    const local = (...p: string[]) => path.join(samba.sharePath, dir, ...p);
    await rm(local(), { recursive: true, force: true });
    await mkdir(local('sub'), { recursive: true });
    await writeFile(local('f'), 'x');
    t.teardown(() => rm(local(), { recursive: true, force: true }));
    const client = await connect(opts(d));
    t.teardown(() => client.close());
    const tree = await client.treeConnect('test');
    const f = `${dir}\\f`;

    const st = await tree.stat(f, { mode: true });
    t.equal(st.mode, (await lstat(local('f'))).mode & 0o777, 'stat with mode: the POSIX mode Samba maps into the DACL');
    t.equal((await tree.stat(f)).mode, undefined, 'stat without: not asked');
    t.equal(await tree.setMode(f, 0o640, false), 0o640, 'setMode reads back 0640');
    t.equal((await lstat(local('f'))).mode & 0o700, 0o600, 'the owner bits on disk');
    t.equal((await lstat(local('f'))).mode & 0o007, 0, 'nothing for others on disk');
    t.equal(await tree.modeOf(f), 0o640, 'modeOf');
    t.equal((await tree.stat(f, { mode: true })).mode, 0o640, 'stat');
    t.equal(await tree.setMode(f, 0o755, false), 0o755, 'and 0755');
    t.equal(await tree.setMode(f, 0o4700, false), 0o755, 'setuid: Samba cannot keep it; nothing changes');
    t.equal(await tree.setMode(`${dir}\\sub`, 0o711, true), 0o711, 'a directory');
    t.equal((await lstat(local('sub'))).mode & 0o007, 0o001, 'others may only search it');
  });
}
