// What one `npm run bench` run owns: its Samba (started here or reused), the
// mounts it makes, the processes it starts and the files it leaves; `close()`
// undoes all of it, killing only the PIDs started here.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, openSync, closeSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log, run, isMounted, sleep, killRunning, q, peakRssMiB } from './proc.mjs';

/** Parses samba-start.sh's `NAME=value` lines (values quoted with printf %q). */
export function parseAssignments(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/\\(.)/g, '$1');
  }
  return out;
}

export class Context {
  constructor({ root, dataDir, main }) {
    this.root = root; // the worktree
    this.dataDir = dataDir; // Samba dir and the data kept between runs
    this.main = main; // the smbfuse CLI
    this.work = mkdtempSync('/tmp/smbfuse-bench-run.');
    this.local = path.join(dataDir, 'local'); // the local-disk peer's dir
    this.children = new Map(); // pid → { name, exited: Promise }
    this.group = ''; // the group being measured, for peakRss
    this.peakRss = []; // { group, mib }: each smbfuse daemon's VmHWM just before its unmount
    this.mounts = [];
    this.ownSamba = null;
    this.seq = 0;
  }

  /** Uses the Samba of SMB_PORT/SMB_SHARE_PATH when set, else starts one in dataDir. */
  async startServer() {
    const e = process.env;
    let s;
    if (e.SMB_PORT && e.SMB_SHARE_PATH) {
      log(`using the running Samba on ${e.SMB_HOST ?? '127.0.0.1'}:${e.SMB_PORT}`);
      s = e;
    } else {
      const pidFile = path.join(this.dataDir, 'smbd.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        let alive = false;
        try { process.kill(pid, 0); alive = true; } catch { /* gone */ }
        if (alive) throw new Error(`a server is already running in ${this.dataDir}; set SMB_* to use it or stop it`);
      }
      const r = await run('bash', [path.join(this.root, 'scripts/samba-start.sh'), this.dataDir], { timeoutS: 600 });
      if (r.code !== 0) throw new Error(`samba-start.sh failed: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      s = parseAssignments(r.stdout);
      this.ownSamba = s.SMB_DIR;
    }
    this.host = s.SMB_HOST ?? '127.0.0.1';
    this.port = s.SMB_PORT;
    this.share = s.SMB_SHARE_PATH;
    this.user = s.SMB_USER ?? 'smbtest';
    const pass = s.SMB_PASS ?? 'smbtest-pass-1';
    // Credentials go in a file (mode 0600), never on a command line or in an error line.
    this.creds = path.join(this.work, 'credentials');
    writeFileSync(this.creds, `username=${this.user}\npassword=${pass}\n`, { mode: 0o600 });
    mkdirSync(this.local, { recursive: true });
  }

  /** smbclient on //HOST/test with ARGS (already quoted), through bash so `sh` measures its CPU. */
  smbclient(args) {
    return `smbclient //${this.host}/test -p ${this.port} -A ${q(this.creds)} ${args}`;
  }

  /** smbclient on //HOST/test running CMDS. */
  smbclientScript(cmds) {
    return this.smbclient(`-c ${q(cmds)}`);
  }

  /**
   * Starts CMD ARGS in the background and waits up to 20 s for MNT to be
   * mounted, then for its readahead window to be raised.
   */
  async mountWith(name, mnt, cmd, args) {
    mkdirSync(mnt, { recursive: true });
    const logFile = path.join(this.work, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    const exited = new Promise((res) => child.on('exit', () => res()));
    let done = false;
    exited.then(() => { done = true; });
    this.children.set(child.pid, { name, exited });
    this.mounts.push(mnt);
    for (let i = 0; i < 200; i++) {
      if (isMounted(mnt)) {
        await readaheadSettled(mnt);
        return { mnt, pid: child.pid, logFile };
      }
      if (done) break;
      await sleep(100);
    }
    const out = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
    await this.stop(child.pid);
    throw new Error(`${name} did not mount ${mnt}${done ? ' (it exited)' : ' within 20 s'}: ${out}`);
  }

  /** A fresh smbfuse mount of //HOST/test (port, credentials, EXTRA, then SMBFUSE_OPTS). */
  mountSmbfuse(extra = '') {
    const mnt = path.join(this.work, `smbfuse${++this.seq}`);
    const opts = [`port=${this.port}`, `credentials=${this.creds}`, extra, process.env.SMBFUSE_OPTS]
      .filter(Boolean).join(',');
    return this.mountWith('smbfuse', mnt, process.execPath, [this.main, `//${this.host}/test`, mnt, '-o', opts, '-f']);
  }

  /** A fresh fuse-null mount with ARGS (see scripts/fuse-null.mjs). */
  mountNull(args) {
    const mnt = path.join(this.work, `null${++this.seq}`);
    return this.mountWith('fuse-null', mnt, process.execPath, [path.join(this.root, 'scripts/fuse-null.mjs'), mnt, ...args]);
  }

  /** fusermount -u (lazy if that fails), then stops the mount's process. */
  async unmount(m) {
    if (this.children.get(m.pid)?.name === 'smbfuse') {
      try { this.peakRss.push({ group: this.group, mib: peakRssMiB(m.pid) }); } catch { /* exited already */ }
    }
    if (isMounted(m.mnt)) {
      const r = await run('fusermount', ['-u', m.mnt], { timeoutS: 30 }).catch((e) => ({ code: 1, stderr: e.message }));
      if (r.code !== 0) {
        log(`fusermount -u ${m.mnt} failed (${r.stderr.trim()}); lazy unmount`);
        await run('fusermount', ['-uz', m.mnt], { timeoutS: 10 }).catch(() => {});
      }
    }
    await this.stop(m.pid);
    this.mounts = this.mounts.filter((x) => x !== m.mnt);
    try { rmdirSync(m.mnt); } catch { /* left for close() */ }
  }

  /** Waits up to 10 s for PID (one we started) to exit, then SIGTERM, then SIGKILL. */
  async stop(pid) {
    const c = this.children.get(pid);
    if (!c) return;
    const gone = (ms) => Promise.race([c.exited.then(() => true), sleep(ms).then(() => false)]);
    if (!(await gone(10_000))) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      if (!(await gone(10_000))) {
        log(`pid ${pid} (${c.name}) ignored SIGTERM; SIGKILL`);
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        await gone(5_000);
      }
    }
    this.children.delete(pid);
  }

  /** Unmounts what we mounted, stops what we started, removes the run's scratch dir. */
  async close() {
    killRunning();
    for (const mnt of [...this.mounts]) {
      if (isMounted(mnt)) await run('fusermount', ['-u', mnt], { timeoutS: 10 }).catch(() => {});
      if (isMounted(mnt)) await run('fusermount', ['-uz', mnt], { timeoutS: 10 }).catch(() => {});
    }
    for (const [pid, c] of [...this.children]) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      await Promise.race([c.exited, sleep(10_000)]);
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      this.children.delete(pid);
    }
    // Never delete through a mount that would not go away.
    const stuck = this.mounts.filter(isMounted);
    if (stuck.length) log(`still mounted, ${this.work} kept: ${stuck.join(' ')}`);
    else rmSync(this.work, { recursive: true, force: true });
    if (this.ownSamba) {
      await run('bash', [path.join(this.root, 'scripts/samba-stop.sh'), '--keep', this.ownSamba], { timeoutS: 60 }).catch((e) => log(e.message));
      this.ownSamba = null;
    }
  }
}

/**
 * Both smbfuse and fuse-null raise the mount's kernel readahead window once
 * the kernel has their INIT answer, just after the mount appears; a file
 * opened before takes the old window for good. Waits for the raise (up to
 * 3 s; not at all without root, where the window stays).
 */
async function readaheadSettled(mnt) {
  if (process.getuid?.() !== 0) return;
  const dev = await run('mountpoint', ['-d', mnt], { timeoutS: 10 }).catch(() => null);
  if (!dev || dev.code !== 0) return;
  const file = `/sys/class/bdi/${dev.stdout.trim()}/read_ahead_kb`;
  for (let i = 0; i < 30; i++) {
    try {
      if (Number(readFileSync(file, 'utf8').trim()) > 128) return;
    } catch { return; }
    await sleep(100);
  }
}
