/**
 * Listing a directory: QUERY_DIRECTORY (MS-SMB2 2.2.33) until the server
 * answers STATUS_NO_MORE_FILES, bounded against a server that never does
 * (issue 7, point 5):
 *  - progress: every reply must bring at least one name not seen before in
 *    this listing. An empty success, or the same entries again, fails the
 *    listing with SmbProtocolError rather than ending it quietly: a partial
 *    listing passed off as whole would mislead `rsync --delete` and the like;
 *  - count: at most MAX_LISTING_ENTRIES names, then SmbProtocolError;
 *  - time: the caller's flag (the FUSE call answered ETIMEDOUT and
 *    gave up) is checked before every request, so an abandoned listing
 *    sends nothing beyond the requests already in flight.
 * A name repeated within one listing is kept once (a directory holds each
 * name once); '.' and '..' as the server sends them are left out.
 *
 * listPath takes as few round trips as the protocol allows (issue 9,
 * point 2): CREATE + QUERY_DIRECTORY + QUERY_DIRECTORY as one related
 * compound, so a directory that fits one reply is listed in one round trip
 * (the second query answers STATUS_NO_MORE_FILES); a bigger one keeps
 * LIST_DEPTH queries in flight on the handle. Each query continues the scan
 * where the one before it stopped (queries on one handle are served in
 * order). The CLOSE is sent without waiting for its reply.
 *
 * The first queries ask for FIRST_LIST_BUFFER bytes and each later one for
 * twice the one before, up to the largest the credits allow: the server
 * sends a compound's replies together once it has built them all, so small
 * first replies let the client decode them while the server reads the rest
 * of a big directory, and the doubling keeps the round trips few.
 */
import { SmbCancelledError, SmbProtocolError } from './errors.js';
import { creditChargeFor, type SmbResponse } from './message.js';
import { NtStatus } from './ntstatus.js';
import { CreateOptions, decodeCreateResponse, FileAccess } from './pdu/create.js';
import { FileInfoClass } from './pdu/fscc.js';
import { Smb2Command } from './pdu/header.js';
import {
  decodeQueryDirectoryResponse,
  encodeQueryDirectoryRequest,
  parseFileIdBothDirectoryInformation,
  QueryDirectoryFlags,
} from './pdu/query-directory.js';
import { expectStatus } from './session.js';
import { dirEntryOf, MXAC_CONTEXT, QFID_CONTEXT, RELATED_FILE_ID, statFromCreate, withMaximalAccess, type TreeCore } from './tree-core.js';
import type { CallerGone, SmbDirEntry, SmbStat } from './types.js';

/** Most names one listing may hold (a few hundred MB of entries). */
export const MAX_LISTING_ENTRIES = 1_000_000;

/** QUERY_DIRECTORY requests listPath keeps in flight on one handle. */
export const LIST_DEPTH = 2;

/** Largest OutputBufferLength asked for (Samba's and Windows' replies stay well below). */
const MAX_LIST_BUFFER = 1024 * 1024;

/** OutputBufferLength of the first queries of listPath (some 500 names). */
export const FIRST_LIST_BUFFER = 64 * 1024;

/** Entries gathered from successive replies, with the progress and count bounds. */
class Listing {
  readonly out: SmbDirEntry[] = [];
  private readonly seen = new Set<string>();

  get names(): number {
    return this.seen.size;
  }

  /** Take one reply; true when it ends the listing (STATUS_NO_MORE_FILES). */
  take(r: SmbResponse): boolean {
    if (r.header.status === NtStatus.STATUS_NO_MORE_FILES) return true;
    expectStatus(r);
    const before = this.seen.size;
    for (const e of parseFileIdBothDirectoryInformation(decodeQueryDirectoryResponse(r.msg).outputBuffer)) {
      if (this.seen.has(e.name)) continue;
      this.seen.add(e.name);
      if (this.seen.size > MAX_LISTING_ENTRIES) throw new SmbProtocolError(`QUERY_DIRECTORY: more than ${MAX_LISTING_ENTRIES} names in one directory`);
      if (e.name === '.' || e.name === '..') continue;
      this.out.push(dirEntryOf(e));
    }
    if (this.seen.size === before) {
      throw new SmbProtocolError(`QUERY_DIRECTORY: a successful reply with no new names after ${before} (the server never said STATUS_NO_MORE_FILES)`);
    }
    return false;
  }

  /** Throw if the caller gave up (checked before each request). */
  check(signal?: CallerGone): void {
    if (signal?.aborted) throw new SmbCancelledError(`directory listing abandoned after ${this.seen.size} names`);
  }
}

/** OutputBufferLength for `inFlight` queries at once: sized to the credits in hand, so a stingy server slows a listing rather than failing it. */
function bufferLength(core: TreeCore, inFlight: number): number {
  return Math.min(core.neg.maxTransactSize, MAX_LIST_BUFFER, Math.max(65536, Math.floor(core.conn.transferBudget / inFlight)));
}

function queryMsg(core: TreeCore, fileId: Buffer, restart: boolean, outLen: number) {
  return core.msg(
    Smb2Command.QUERY_DIRECTORY,
    encodeQueryDirectoryRequest({
      fileInformationClass: FileInfoClass.FileIdBothDirectoryInformation,
      flags: restart ? QueryDirectoryFlags.RESTART_SCANS : 0,
      fileIndex: 0,
      fileId,
      fileName: '*',
      outputBufferLength: outLen,
    }),
    creditChargeFor(outLen),
  );
}

/** Every entry of the open directory `fileId`, one query at a time; see the bounds above. */
export async function listDirectory(core: TreeCore, fileId: Buffer, signal?: CallerGone): Promise<SmbDirEntry[]> {
  const l = new Listing();
  for (let first = true; ; first = false) {
    l.check(signal);
    if (l.take(await core.conn.request(queryMsg(core, fileId, first, bufferLength(core, 1))))) return l.out;
  }
}

/**
 * The directory at `path`: its own attributes (from the CREATE, with its
 * file id and this session's maximal access to it) and every entry; see the
 * top for the round trips and bounds.
 * With `maxNames`, no more queries once that many names came (the last
 * reply may bring more): `complete` says whether they were all of them.
 */
export async function listPath(
  core: TreeCore,
  path: string,
  signal?: CallerGone,
  opts: { maxNames?: number } = {},
): Promise<{ stat: SmbStat; entries: SmbDirEntry[]; complete: boolean }> {
  const l = new Listing();
  l.check(signal);
  // The first compound is CREATE plus two queries, all charged at once: sized
  // so it fits the credits in hand, and with one query when fewer than three.
  const maxLen = bufferLength(core, LIST_DEPTH + 1);
  let outLen = Math.min(FIRST_LIST_BUFFER, maxLen);
  const oneQuery = core.conn.transferBudget < 3 * 65536;
  const create = core.createMsg(path, {
    desiredAccess: FileAccess.FILE_LIST_DIRECTORY | FileAccess.FILE_READ_ATTRIBUTES | FileAccess.SYNCHRONIZE,
    createOptions: CreateOptions.FILE_DIRECTORY_FILE,
    // MxAc: whether files may be made in it, so their CREATEs may wait (src/fs-files.ts).
    contexts: [QFID_CONTEXT, MXAC_CONTEXT],
  });
  const first = [create, queryMsg(core, RELATED_FILE_ID, true, outLen)];
  if (!oneQuery) first.push(queryMsg(core, RELATED_FILE_ID, false, outLen));
  const rs = await core.compound(first);
  core.checkAll(rs.slice(0, 1), [path]);
  const c = decodeCreateResponse(rs[0]!.msg);
  const fileId = Buffer.from(c.fileId);
  const pending: Promise<SmbResponse>[] = [];
  let done = false;
  try {
    done = l.take(rs[1]!) || (rs[2] !== undefined && l.take(rs[2]));
    while (!done && l.names < (opts.maxNames ?? Infinity)) {
      while (pending.length < LIST_DEPTH) {
        l.check(signal);
        outLen = Math.min(2 * outLen, maxLen);
        pending.push(core.conn.request(queryMsg(core, fileId, false, outLen)));
      }
      done = l.take(await pending.shift()!);
    }
  } finally {
    // Queries still in flight end with STATUS_NO_MORE_FILES (or a failure nobody waits for).
    for (const p of pending) p.catch(() => {});
    core.conn.request(core.closeMsg(fileId)).catch(() => {});
  }
  return { stat: withMaximalAccess(statFromCreate(c, true), c), entries: l.out, complete: done };
}
