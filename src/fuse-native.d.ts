/**
 * The parts of fuse-native 2.2.6 (CommonJS, no bundled types) that smbfuse
 * uses, including the internal `_fuseOptions()` that builds libfuse's `-o`
 * string (see mount.ts for why we override it).
 */
declare module 'fuse-native' {
  interface FuseOpts {
    force?: boolean;
    mkdir?: boolean;
    displayFolder?: boolean | string;
    maxRead?: number;
    allowOther?: boolean;
    defaultPermissions?: boolean;
    debug?: boolean;
    fsname?: string;
    subtype?: string;
    /** Per-op ms before fuse-native itself answers ETIMEDOUT; false = never. */
    timeout?: number | false;
    [k: string]: unknown;
  }
  class Fuse {
    constructor(mnt: string, ops: object, opts?: FuseOpts);
    readonly mnt: string;
    readonly opts: FuseOpts;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: (Error & { unmountFailure?: boolean }) | null) => void): void;
    /** Internal: the libfuse option string, '' or '-o' + comma list. */
    _fuseOptions(): string;
    /** Internal: per-op handlers the binary calls with (the request's locals, op, ...args). */
    _handlers: Array<((locals: Buffer, ...rest: unknown[]) => unknown) | undefined>;
    /** Internal: the mount's fuse_thread_t (after mount) and every locals the binary made. */
    _thread: Buffer | null;
    _threads: Set<Buffer>;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    static readonly ENOENT: number;
    static readonly EIO: number;
    static readonly EROFS: number;
    static readonly [errno: string]: unknown;
  }
  export default Fuse;
}
