/**
 * Loading fuse-native, on demand. Its addon links against libfuse.so.2, so
 * importing it on a machine without libfuse ends the process with a loader
 * error. smbfuse loads it only when it is about to mount: by then the demo
 * has installed what it needs, and a real mount without libfuse gets one
 * line saying what to install instead of a stack trace.
 */
import type Fuse from 'fuse-native';
import { bindingHooks } from './fuse-binding.js';
import type { Interrupts } from './fuse-interrupt.js';
import { fuseOptionString } from './mount-options.js';

/** The constructor of fuse-native with extra libfuse options appended to its option string. */
export type SmbFuseClass = new (
  mnt: string,
  ops: object,
  opts: ConstructorParameters<typeof Fuse>[2],
  extra: readonly string[],
  interrupts?: Interrupts,
) => Fuse;

/** A system library or tool the mount needs is missing; the message says what to install. */
export class MissingSystemLibrary extends Error {}

let loaded: SmbFuseClass | null = null;

/** The one line for a failure to load fuse-native, from the loader's message. */
export function describeLoadError(message: string): string {
  const msg = message.split('\n')[0]!;
  if (/libfuse[^:]*: cannot open shared object file/.test(msg)) return 'libfuse 2 is not installed (Debian/Ubuntu: apt-get install fuse)';
  if (/libfuse/.test(msg)) return `libfuse 2 cannot be loaded (${msg}); reinstall it (Debian/Ubuntu: apt-get install --reinstall libfuse2)`;
  return `cannot load the FUSE binding (fuse-native): ${msg}`;
}

/**
 * fuse-native's Fuse, subclassed to append our options and to use the
 * stat/utimens handlers of the binary's layout (fuse-binding.ts);
 * MissingSystemLibrary if libfuse is absent.
 */
export async function loadSmbFuse(): Promise<SmbFuseClass> {
  if (loaded) return loaded;
  let Base: typeof Fuse;
  try {
    Base = (await import('fuse-native')).default;
  } catch (e) {
    throw new MissingSystemLibrary(describeLoadError((e as Error).message));
  }
  class SmbFuse extends Base {
    constructor(
      mnt: string,
      ops: object,
      opts: ConstructorParameters<typeof Fuse>[2],
      private readonly extraOptions: readonly string[],
      interrupts?: Interrupts,
    ) {
      super(mnt, ops, opts);
      Object.assign(this, bindingHooks(ops as Parameters<typeof bindingHooks>[0]));
      // Each call runs "for" its request's locals, so a handler's early answer is found by them.
      if (interrupts) this._handlers = this._handlers.map((h) => h && ((locals, ...rest) => interrupts.dispatch(locals, () => h(locals, ...rest))));
    }

    override _fuseOptions(): string {
      return fuseOptionString(super._fuseOptions(), this.extraOptions);
    }
  }
  loaded = SmbFuse;
  return loaded;
}
