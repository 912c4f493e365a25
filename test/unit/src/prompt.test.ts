/**
 * The no-echo password prompt against a fake TTY: raw mode on while reading
 * and restored after, nothing typed is echoed, Enter/Backspace/Ctrl-U/Ctrl-C/
 * Ctrl-D and end of input, input split across chunks.
 */
import t, { type Test } from 'tap';
import { EventEmitter } from 'node:events';
import { PromptCancelled, passwordPrompt, readHidden } from '../../../src/prompt.js';

class FakeTty extends EventEmitter {
  isTTY = true;
  isRaw = false;
  rawHistory: boolean[] = [];
  paused = true;
  setRawMode(raw: boolean) {
    this.isRaw = raw;
    this.rawHistory.push(raw);
    return this;
  }
  resume() {
    this.paused = false;
    return this;
  }
  pause() {
    this.paused = true;
    return this;
  }
  type(...chunks: Array<string | Buffer>) {
    for (const c of chunks) this.emit('data', typeof c === 'string' ? Buffer.from(c) : c);
  }
}

function out() {
  const written: string[] = [];
  return { written, write: (s: string) => written.push(s) };
}

async function read(t: Test, ...chunks: Array<string | Buffer>) {
  const tty = new FakeTty();
  const o = out();
  const p = readHidden('Password: ', tty, o);
  t.equal(tty.isRaw, true, 'raw (no echo) while reading');
  t.equal(tty.paused, false, 'reading');
  tty.type(...chunks);
  const r = await p.then((v) => ({ v }), (e: unknown) => ({ e }));
  return { r, tty, o };
}

t.test('prompt text', async (t) => {
  t.equal(passwordPrompt('alice', '//srv/share'), 'Password for alice@//srv/share: ');
});

t.test('reads up to Enter, echoes nothing, restores the terminal', async (t) => {
  const { r, tty, o } = await read(t, 'hunter2\r');
  t.same(r, { v: 'hunter2' });
  t.same(o.written, ['Password: ', '\n'], 'only the prompt and a newline are written');
  t.equal(tty.isRaw, false, 'raw mode off again');
  t.same(tty.rawHistory, [true, false]);
  t.equal(tty.paused, true, 'stdin paused afterwards (does not hold the process)');
  t.equal(tty.listenerCount('data'), 0, 'listeners removed');
});

t.test('line feed ends the line too; extra input after Enter is ignored', async (t) => {
  t.same((await read(t, 'abc\ndef\r')).r, { v: 'abc' });
});

t.test('input in several chunks, multibyte characters', async (t) => {
  t.same((await read(t, 'pa', 'ss', 'wö', Buffer.from('rd€\r'))).r, { v: 'passwörd€' });
});

t.test('backspace (DEL and ^H) removes the last character', async (t) => {
  t.same((await read(t, 'abcx\x7f\x7fd\r')).r, { v: 'abd' });
  t.same((await read(t, 'ab\b\bc\r')).r, { v: 'c' });
  t.same((await read(t, '\x7f\x7fok\r')).r, { v: 'ok' }, 'backspace on an empty line is harmless');
  t.same((await read(t, 'pé\x7f\r')).r, { v: 'p' }, 'removes a whole character');
});

t.test('Ctrl-U clears the line; other control characters are dropped', async (t) => {
  t.same((await read(t, 'wrong\x15right\r')).r, { v: 'right' });
  t.same((await read(t, 'a\tb\x00c\r')).r, { v: 'abc' });
});

t.test('empty line gives an empty password', async (t) => {
  t.same((await read(t, '\r')).r, { v: '' });
});

t.test('Ctrl-C cancels and restores the terminal', async (t) => {
  const { r, tty, o } = await read(t, 'secr\x03et\r');
  const e = (r as { e?: unknown }).e;
  t.ok(e instanceof PromptCancelled, 'PromptCancelled');
  t.equal((e as PromptCancelled).how, 'interrupt');
  t.notMatch((e as Error).message, /secr/, 'typed text not in the error');
  t.equal(tty.isRaw, false);
  t.same(o.written, ['Password: ', '\n']);
});

t.test('Ctrl-D on an empty line and end of input cancel', async (t) => {
  const d = await read(t, '\x04');
  t.equal(((d.r as { e?: PromptCancelled }).e)?.how, 'eof');
  t.same((await read(t, 'ab\x04c\r')).r, { v: 'abc' }, 'Ctrl-D inside a line is ignored');
  const tty = new FakeTty();
  const p = readHidden('P: ', tty, out());
  tty.type('partial');
  tty.emit('end');
  await t.rejects(p, PromptCancelled);
  t.equal(tty.isRaw, false);
});

t.test('a terminal that was already raw stays raw', async (t) => {
  const tty = new FakeTty();
  tty.isRaw = true;
  const p = readHidden('P: ', tty, out());
  tty.type('x\r');
  t.equal(await p, 'x');
  t.equal(tty.isRaw, true);
});
