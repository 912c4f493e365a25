// The source-tree rows: one tree (~3000 files) unpacked, checked, searched,
// packed, committed to git and removed, each step timed, plus the total.
import path from 'node:path';
import { q, sh } from './proc.mjs';
import { RowSet } from './rowset.mjs';
import { ensureTree } from './data.mjs';

const STEPS = [
  ['tree-tar-x', 'tar x'],
  ['tree-sha256', 'sha256sum -c over all files'],
  ['tree-grep', 'grep -r (no match: reads all)'],
  ['tree-tar-c', 'tar c'],
  ['tree-git', 'git init, add -A, commit'],
  ['tree-rm', 'rm -rf'],
];

/** The shell script of each step, run in the parent of DIR. */
function scripts(dir, tree) {
  const d = q(dir);
  return {
    // Modes and owners as a non-root user would get them: without modefromsid
    // smbfuse refuses (EPERM) a chmod it cannot keep.
    'tree-tar-x': `mkdir ${d} && tar xf ${q(tree.tar)} --no-same-owner --no-same-permissions -C ${d}`,
    // Also the proof that every byte came back as written.
    'tree-sha256': `cd ${d} && sha256sum --quiet -c ${q(tree.manifest)}`,
    // grep exits 1 when nothing matches, which is the point: every file is read.
    'tree-grep': `grep -r -F -q 'smbfuse-bench-no-such-string' ${d}; [ $? -eq 1 ]`,
    'tree-tar-c': `n=$(tar cf - -C ${d} . | wc -c) && [ "$n" -gt ${Math.floor(tree.bytes / 2)} ]`,
    'tree-git': `cd ${d} && git init -q && git add -A && git -c user.name=bench -c user.email=bench@localhost commit -q -m tree`,
    'tree-rm': `rm -rf ${d} && [ ! -e ${d} ]`,
  };
}

export async function treeGroup(ctx, o) {
  const tree = await ensureTree(ctx.root, ctx.dataDir);
  const rs = new RowSet('tree', [
    ...STEPS.map(([id, what]) => ({ id, label: `tree: ${what}`, unit: 's', better: 'lower' })),
    { id: 'tree-total', label: 'tree: total of the six steps', unit: 's', better: 'lower' },
  ]);
  rs.note('tree-tar-x', `${tree.files} files, ${(tree.bytes / 1e6).toFixed(0)} MB tar (scripts/make-test-tree.mjs --files 10); one mount for all steps; tar x --no-same-owner --no-same-permissions`);
  const ids = [...STEPS.map(([id]) => id), 'tree-total'];
  const runSteps = async (col, dir) => {
    const s = scripts(dir, tree);
    let total = 0;
    await sh(`rm -rf ${q(dir)}`, { timeoutS: 600 }); // a run cut short may have left it
    try {
      for (const [id] of STEPS) {
        const r = await sh(s[id], { timeoutS: 600 });
        rs.set(id, col, r.secs);
        total += r.secs;
      }
      rs.set('tree-total', col, total);
    } finally {
      await sh(`rm -rf ${q(dir)}`, { timeoutS: 600 });
    }
  };
  await rs.attempt(ids, 'smbfuse', async () => {
    const m = await ctx.mountSmbfuse();
    try { await runSteps('smbfuse', path.join(m.mnt, 'bench-tree')); } finally { await ctx.unmount(m); }
  });
  // smbclient where it has the step on the same files: tar x and tar c (its
  // -T mode). Not rm -rf: the other columns' tree holds git's objects by then.
  const smbSteps = ['tree-tar-x', 'tree-tar-c'];
  await rs.attempt(smbSteps, 'smbclient', async () => {
    const d = 'bench-tree-smbclient';
    const onShare = path.join(ctx.share, d);
    await sh(`rm -rf ${q(onShare)} && mkdir ${q(onShare)}`, { timeoutS: 600 });
    try {
      const x = await sh(`${ctx.smbclient(`-D ${d} -Tx ${q(tree.tar)}`)} >/dev/null`, { timeoutS: 600 });
      const { stdout } = await sh(`find ${q(onShare)} -type f | wc -l`, { timeoutS: 60 });
      if (Number(stdout.trim()) < tree.files) throw new Error(`smbclient -Tx unpacked ${stdout.trim()} of ${tree.files} files`);
      rs.set('tree-tar-x', 'smbclient', x.secs);
      const c = await sh(`n=$(${ctx.smbclient(`-D ${d} -Tc -`)} 2>/dev/null | wc -c) && [ "$n" -gt ${Math.floor(tree.bytes / 2)} ]`, { timeoutS: 600 });
      rs.set('tree-tar-c', 'smbclient', c.secs);
    } finally {
      await sh(`rm -rf ${q(onShare)}`, { timeoutS: 600 });
    }
  });
  rs.note('tree-tar-c', 'smbclient: -Tx / -Tc (its tar mode), with connect and logon; it has no sha256sum, grep or git');
  await rs.attempt(ids, 'local', () => runSteps('local', path.join(ctx.local, 'tree')));
  if (o.otherWork) await rs.attempt(ids, 'other', () => runSteps('other', path.join(o.otherWork, 'tree')));
  return rs.rows;
}
