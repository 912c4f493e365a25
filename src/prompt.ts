/**
 * Asking for a password on the terminal without echo.
 *
 * The input is put in raw mode (no echo, no line editing by the tty driver),
 * so this module does the little line editing a password needs: Enter ends
 * the line, Backspace/DEL removes the last character, Ctrl-U clears the line,
 * Ctrl-C cancels (raw mode turns it into a byte, not a signal), Ctrl-D on an
 * empty line or the end of input cancels. Nothing typed is ever written out;
 * the prompt and the final newline go to `output`. Raw mode is always
 * switched off again, also on cancel and error.
 */

/** The part of a tty.ReadStream the prompt uses (tests pass a fake). */
export interface TtyInput {
  isTTY?: boolean;
  setRawMode(raw: boolean): unknown;
  isRaw?: boolean;
  on(ev: 'data', fn: (d: Buffer | string) => void): unknown;
  on(ev: 'end' | 'close', fn: () => void): unknown;
  on(ev: 'error', fn: (e: Error) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeListener(ev: string, fn: (...a: any[]) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface TextOutput {
  write(s: string): unknown;
}

/** The user pressed Ctrl-C (or Ctrl-D / end of input) at the prompt. */
export class PromptCancelled extends Error {
  override readonly name = 'PromptCancelled';
  constructor(readonly how: 'interrupt' | 'eof') {
    super(how === 'interrupt' ? 'interrupted' : 'no password entered');
  }
}

/** `Password for USER@//host/share: ` (mount.cifs says much the same). */
export function passwordPrompt(username: string, unc: string): string {
  return `Password for ${username}@${unc}: `;
}

/**
 * Write `prompt` to `output` and read one line from `input` without echo.
 * Resolves to the line (without the Enter); rejects with PromptCancelled on
 * Ctrl-C, or Ctrl-D / end of input before Enter.
 */
export function readHidden(prompt: string, input: TtyInput, output: TextOutput): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const wasRaw = input.isRaw === true;
    let chars: string[] = [];
    let done = false;
    const finish = (err: Error | null, value?: string) => {
      if (done) return;
      done = true;
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('close', onEnd);
      input.removeListener('error', onError);
      try {
        input.setRawMode(wasRaw);
      } catch {
        // The terminal went away; nothing to restore.
      }
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value ?? '');
    };
    const onData = (d: Buffer | string) => {
      // Iterate by code point so Backspace removes a whole character.
      for (const ch of typeof d === 'string' ? d : d.toString('utf8')) {
        if (done) return;
        switch (ch) {
          case '\r':
          case '\n':
            finish(null, chars.join(''));
            return;
          case '\x03': // Ctrl-C
            finish(new PromptCancelled('interrupt'));
            return;
          case '\x04': // Ctrl-D: end of input on an empty line, else ignored
            if (chars.length === 0) {
              finish(new PromptCancelled('eof'));
              return;
            }
            break;
          case '\x7f': // DEL (what Backspace sends on most terminals)
          case '\b':
            chars.pop();
            break;
          case '\x15': // Ctrl-U
            chars = [];
            break;
          default:
            // Other control characters are not part of a password.
            if (ch >= ' ') chars.push(ch);
        }
      }
    };
    const onEnd = () => finish(new PromptCancelled('eof'));
    const onError = (e: Error) => finish(e);
    input.setRawMode(true);
    output.write(prompt);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('close', onEnd);
    input.on('error', onError);
    input.resume();
  });
}
