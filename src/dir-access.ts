/**
 * Where this session may create files, as the server says: its access on
 * the share (TREE_CONNECT's MaximalAccess) and, per directory, the MxAc
 * context of a listing's or mkdir's CREATE, or a file created there.
 *
 * A new small file's CREATE waits for its close (fs-files.ts), and a close
 * that fails goes unseen by many programs (`echo x > f` exits 0, and x is
 * gone). So a CREATE waits only in a directory known to take new files; in
 * any other the first create goes at open, the server's refusal fails the
 * open, and a file it made teaches that the directory takes them.
 */
import { LRUCache } from 'lru-cache';

/** FILE_ADD_FILE (MS-SMB2 2.2.13.1.2): the right to create a file in a directory. */
const FILE_ADD_FILE = 0x2;
/** Most directories remembered; one forgotten has its next create sent at open. */
const MAX_DIRS = 16384;

export class CreateAccess {
  /** Directory → whether it takes new files. */
  private readonly known = new LRUCache<string, boolean>({ max: MAX_DIRS });

  /** `shareAccess`: the session's MaximalAccess on the share. */
  constructor(private readonly shareAccess: () => number) {}

  /** The server gave `maximalAccess` for directory `dir` (nothing when it gave none). */
  note(dir: string, maximalAccess: number | undefined): void {
    if (maximalAccess !== undefined) this.known.set(dir, (maximalAccess & FILE_ADD_FILE) !== 0);
  }

  /** The server created a file in `dir`. */
  created(dir: string): void {
    this.known.set(dir, true);
  }

  /** Whether `dir` is known to take new files, so a CREATE there may wait. */
  mayCreateIn(dir: string): boolean {
    return (this.shareAccess() & FILE_ADD_FILE) !== 0 && this.known.get(dir) === true;
  }
}
