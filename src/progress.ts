/**
 * Progress lines for the long waits a person sits through (issue 12, point 5):
 * a mount waiting on a slow server says what it waits for, and an unmount
 * with much unwritten data says how much it is writing back.
 */

/** A wait is reported once it has lasted this long, and again each time as long again. */
export const PROGRESS_EVERY_MS = 5000;
/** An unmount reports its write-back from this much dirty data on. */
export const FLUSH_REPORT_BYTES = 1 << 20;

/** `1572864` → `1.5 MiB (1572864 bytes)`. */
export function describeBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let unit = 'bytes';
  for (let i = 0; v >= 1024 && i < units.length; i++) {
    v /= 1024;
    unit = units[i]!;
  }
  return unit === 'bytes' ? `${n} bytes` : `${v.toFixed(1)} ${unit} (${n} bytes)`;
}

/**
 * Says "still waiting for HOST:PORT to answer STEP (N s)" while one step of
 * connecting lasts longer than `everyMs`; a new step starts the count again.
 */
export class WaitReporter {
  private current: string | undefined;
  private since = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hostPort: string,
    private readonly say: (line: string) => void,
    private readonly everyMs = PROGRESS_EVERY_MS,
  ) {}

  private ended = false;

  /** `step` (an SMB2 command, or 'TCP' for the connection itself) is now awaited. */
  step(step: string): void {
    if (this.ended) return; // a step after the end (connecting gave up meanwhile) is not reported
    clearInterval(this.timer);
    this.current = step;
    this.since = Date.now();
    this.timer = setInterval(() => this.say(this.line()), this.everyMs);
    this.timer.unref();
  }

  /** Connecting is over (either way): no more lines. */
  stop(): void {
    this.ended = true;
    clearInterval(this.timer);
  }

  private line(): string {
    const waited = `${Math.round((Date.now() - this.since) / 1000)} s`;
    const what = this.current === 'TCP' ? 'accept the connection' : `answer ${this.current}`;
    return `smbfuse: still waiting for ${this.hostPort} to ${what} (${waited})`;
  }
}

/**
 * Reports an unmount's write-back of `dirty()` bytes when it is large: a
 * line at the start, one every `everyMs` with what is left, and one at the
 * end if all of it was written. Returns the function to call at the end.
 */
export function reportFlush(
  unc: string,
  dirty: () => number,
  say: (line: string) => void,
  everyMs = PROGRESS_EVERY_MS,
): (allWritten: boolean) => void {
  const total = dirty();
  if (total < FLUSH_REPORT_BYTES) return () => {};
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  say(`smbfuse: ${unc}: unmounting: writing back ${describeBytes(total)} written through the mount`);
  const timer = setInterval(() => say(`smbfuse: ${unc}: still writing back: ${describeBytes(dirty())} left (${secs()} s)`), everyMs);
  timer.unref();
  return (allWritten) => {
    clearInterval(timer);
    if (allWritten) say(`smbfuse: ${unc}: wrote back ${describeBytes(total)} in ${secs()} s`);
  };
}
