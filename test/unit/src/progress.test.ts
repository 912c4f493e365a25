import t from 'tap';
import { describeBytes, FLUSH_REPORT_BYTES, reportFlush, WaitReporter } from '../../../src/progress.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('byte amounts', async (t) => {
  t.equal(describeBytes(0), '0 bytes');
  t.equal(describeBytes(1023), '1023 bytes');
  t.equal(describeBytes(1536), '1.5 KiB (1536 bytes)');
  t.equal(describeBytes(4 << 20), '4.0 MiB (4194304 bytes)');
  t.equal(describeBytes(3 * 1024 ** 3), '3.0 GiB (3221225472 bytes)');
});

t.test('a step that lasts is reported, a new step starts the count again, stop ends it', async (t) => {
  const lines: string[] = [];
  const w = new WaitReporter('h:445', (l) => lines.push(l), 150);
  w.step('TCP');
  await sleep(200);
  t.match(lines, [/^smbfuse: still waiting for h:445 to accept the connection \(0 s\)$/]);
  w.step('NEGOTIATE');
  await sleep(30);
  t.equal(lines.length, 1, 'the new step is not reported before its own interval');
  await sleep(170);
  t.match(lines[1], /to answer NEGOTIATE/);
  w.stop();
  const n = lines.length;
  await sleep(300);
  t.equal(lines.length, n, 'nothing after stop');
  w.step('TREE_CONNECT');
  await sleep(300);
  t.equal(lines.length, n, 'nor for a step begun after it');
});

t.test('write-back reports only from FLUSH_REPORT_BYTES on', async (t) => {
  const lines: string[] = [];
  reportFlush('//h/s', () => FLUSH_REPORT_BYTES - 1, (l) => lines.push(l), 10)(true);
  t.same(lines, [], 'a small write-back is silent');
  let dirty = 2 * FLUSH_REPORT_BYTES;
  const done = reportFlush('//h/s', () => dirty, (l) => lines.push(l), 30);
  dirty = FLUSH_REPORT_BYTES;
  await sleep(50);
  done(false);
  await sleep(50);
  t.match(lines, [
    /^smbfuse: \/\/h\/s: unmounting: writing back 2\.0 MiB \(2097152 bytes\) written through the mount$/,
    /^smbfuse: \/\/h\/s: still writing back: 1\.0 MiB \(1048576 bytes\) left \(0\.\d s\)$/,
  ]);
  t.equal(lines.length, 2, 'no ticks after the end, no "wrote back" when some is lost');
});
