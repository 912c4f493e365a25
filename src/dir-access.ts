/**
 * Where this session may create files, as the server says: its access on
 * the share (TREE_CONNECT's MaximalAccess) and, for directories it listed
 * or made, its access to each (the MxAc context of that CREATE). A new
 * small file's CREATE waits for its close (fs-files.ts); where the server
 * would refuse it, the refusal must fail the open instead, or `echo x > f`
 * exits 0 and x is gone. A directory never listed here, or forgotten, counts
 * as allowing: the server decides at the close, as before.
 */
import { LRUCache } from 'lru-cache';

/** FILE_ADD_FILE (MS-SMB2 2.2.13.1.2): the right to create a file in a directory. */
const FILE_ADD_FILE = 0x2;
/** Most directories remembered as refusing new files. */
const MAX_DIRS = 4096;

export class CreateAccess {
  private readonly refusing = new LRUCache<string, true>({ max: MAX_DIRS });

  /** `shareAccess`: the session's MaximalAccess on the share. */
  constructor(private readonly shareAccess: () => number) {}

  /** The server gave `maximalAccess` for directory `dir` (nothing when it gave none). */
  note(dir: string, maximalAccess: number | undefined): void {
    if (maximalAccess === undefined) return;
    if (maximalAccess & FILE_ADD_FILE) this.refusing.delete(dir);
    else this.refusing.set(dir, true);
  }

  /** Whether a file created in `dir` can be expected to be allowed, so its CREATE may wait. */
  mayCreateIn(dir: string): boolean {
    return (this.shareAccess() & FILE_ADD_FILE) !== 0 && !this.refusing.has(dir);
  }
}
