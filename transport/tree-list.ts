/**
 * Listing an open directory: QUERY_DIRECTORY (MS-SMB2 2.2.33) until the
 * server answers STATUS_NO_MORE_FILES, bounded against a server that never
 * does (issue 7, point 5):
 *  - progress: every reply must bring at least one name not seen before in
 *    this listing. An empty success, or the same entries again, fails the
 *    listing with SmbProtocolError rather than ending it quietly: a partial
 *    listing passed off as whole would mislead `rsync --delete` and the like;
 *  - count: at most MAX_LISTING_ENTRIES names, then SmbProtocolError;
 *  - time: the caller's flag (the FUSE call answered ETIMEDOUT and
 *    gave up) is checked before every request, so an abandoned listing
 *    sends at most the one request already in flight.
 * A name repeated within one listing is kept once (a directory holds each
 * name once); '.' and '..' as the server sends them are left out.
 */
import { SmbCancelledError, SmbProtocolError } from './errors.js';
import { creditChargeFor } from './message.js';
import { NtStatus } from './ntstatus.js';
import { FileInfoClass } from './pdu/fscc.js';
import { Smb2Command } from './pdu/header.js';
import {
  decodeQueryDirectoryResponse,
  encodeQueryDirectoryRequest,
  parseFileIdBothDirectoryInformation,
  QueryDirectoryFlags,
} from './pdu/query-directory.js';
import { expectStatus } from './session.js';
import { statFromEntry, type TreeCore } from './tree-core.js';
import type { CallerGone, SmbDirEntry } from './types.js';

/** Most names one listing may hold (a few hundred MB of entries). */
export const MAX_LISTING_ENTRIES = 1_000_000;

/** Every entry of the open directory `fileId`; see the bounds above. */
export async function listDirectory(core: TreeCore, fileId: Buffer, signal?: CallerGone): Promise<SmbDirEntry[]> {
  const out: SmbDirEntry[] = [];
  const seen = new Set<string>();
  for (let first = true; ; first = false) {
    if (signal?.aborted) throw new SmbCancelledError(`directory listing abandoned after ${seen.size} names`);
    // Sized to the credits in hand, so a stingy server slows a listing rather than failing it.
    const outLen = Math.min(core.neg.maxTransactSize, 1024 * 1024, core.conn.transferBudget);
    const m = core.msg(
      Smb2Command.QUERY_DIRECTORY,
      encodeQueryDirectoryRequest({
        fileInformationClass: FileInfoClass.FileIdBothDirectoryInformation,
        flags: first ? QueryDirectoryFlags.RESTART_SCANS : 0,
        fileIndex: 0,
        fileId,
        fileName: '*',
        outputBufferLength: outLen,
      }),
      creditChargeFor(outLen),
    );
    const r = await core.conn.request(m);
    if (r.header.status === NtStatus.STATUS_NO_MORE_FILES) return out;
    expectStatus(r);
    const before = seen.size;
    for (const e of parseFileIdBothDirectoryInformation(decodeQueryDirectoryResponse(r.msg).outputBuffer)) {
      if (seen.has(e.name)) continue;
      seen.add(e.name);
      if (seen.size > MAX_LISTING_ENTRIES) throw new SmbProtocolError(`QUERY_DIRECTORY: more than ${MAX_LISTING_ENTRIES} names in one directory`);
      if (e.name === '.' || e.name === '..') continue;
      out.push({ name: e.name, ...statFromEntry(e) });
    }
    if (seen.size === before) {
      throw new SmbProtocolError(`QUERY_DIRECTORY: a successful reply with no new names after ${before} (the server never said STATUS_NO_MORE_FILES)`);
    }
  }
}
