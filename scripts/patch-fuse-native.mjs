#!/usr/bin/env node
// postinstall: rebuild fuse-native 2.2.6 with its utimens argument fixed.
//
// fuse-native's C bridge hands JavaScript the access time twice in utimens
// (the second pair of arguments should be the modification time), so
// `cp -a`, `tar x` and `rsync -a` would set every file's mtime to its atime.
// We change that one argument in the installed copy of fuse-native.c and
// rebuild the addon with node-gyp (npm's bundled one); node-gyp-build then
// loads build/Release/fuse.node in preference to the prebuilt binary.
// If the build is impossible here, the prebuilt binary stays and we say so.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const log = (m) => process.stderr.write(`smbfuse postinstall: ${m}\n`);

let dir;
try {
  dir = path.dirname(require.resolve('fuse-native/package.json'));
} catch {
  log('fuse-native is not installed; nothing to patch');
  process.exit(0);
}
const src = path.join(dir, 'fuse-native.c');
const wrong = 'FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)';
const right = 'FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)';
const text = readFileSync(src, 'utf8');
const built = existsSync(path.join(dir, 'build', 'Release', 'fuse.node'));
if (text.includes(right) && built) {
  log('fuse-native already patched and built');
  process.exit(0);
}
if (!text.includes(wrong) && !text.includes(right)) {
  log('fuse-native source differs from 2.2.6; leaving it as it is');
  process.exit(0);
}
writeFileSync(src, text.replace(wrong, right));

/** npm's own node-gyp (npm sets npm_config_node_gyp for lifecycle scripts). */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** Node's headers where this node is installed (node-gyp would otherwise download them). */
function nodeDir() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm && existsSync(path.join(fromNpm, 'include', 'node', 'node.h'))) return fromNpm;
  const prefix = path.join(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? path.resolve(prefix) : null;
}

const gyp = nodeGyp();
const headers = nodeDir();
if (!gyp) {
  log('node-gyp not found: keeping the prebuilt fuse-native (utimens sets mtime to atime)');
  process.exit(0);
}
try {
  const args = [gyp, 'rebuild', ...(headers ? [`--nodedir=${headers}`] : [])];
  execFileSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300000 });
  log('rebuilt fuse-native with the utimens fix');
} catch (e) {
  log(`could not rebuild fuse-native (${String(e.stderr ?? e.message).trim().split('\n').pop()}); keeping the prebuilt binary (utimens sets mtime to atime)`);
}
