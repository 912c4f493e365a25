/**
 * Tampering-proxy hooks (test/helpers/proxy.ts) for directory listings:
 * QUERY_DIRECTORY requests and replies, edited in place (lengths fixed).
 * They work on unsigned, unencrypted sessions (the test share's default).
 */
import { NtStatus } from '../../transport/ntstatus.js';
import { Smb2Command } from '../../transport/pdu/header.js';
import { QueryDirectoryFlags } from '../../transport/pdu/query-directory.js';
import { compoundMembers, startProxy, type FrameHook } from './proxy.js';

const HDR = 64;
/** FileIdBothDirectoryInformation (MS-FSCC 2.4.17): FileNameLength and FileName offsets. */
const NAME_LEN_AT = 60;
const NAME_AT = 104;

/**
 * The QUERY_DIRECTORY messages of the given direction in a frame (a compound
 * may hold several), each a view from its own header on, so the offsets in
 * its body are relative to it, and edits land in the frame.
 */
function queryDirectories(frame: Buffer, response: boolean): { msg: Buffer; status: number }[] {
  return compoundMembers(frame)
    .filter(({ h }) => h.command === Smb2Command.QUERY_DIRECTORY && h.response === response)
    .map(({ msg, h }) => ({ msg, status: h.status }));
}

/** toServer hook counting QUERY_DIRECTORY requests. */
export function countQueries(): { hook: FrameHook; count: () => number } {
  let n = 0;
  return { hook: (f) => void (n += queryDirectories(f, false).length), count: () => n };
}

/**
 * toClient hook: every STATUS_NO_MORE_FILES reply becomes STATUS_SUCCESS with
 * an empty OutputBuffer. The error body (StructureSize 9, 8 bytes + 1) has
 * exactly the size of an empty success body, so the frame length holds.
 */
export function emptyInsteadOfNoMoreFiles(): { hook: FrameHook; rewritten: () => number } {
  let n = 0;
  const hook: FrameHook = (frame) => {
    for (const { msg, status } of queryDirectories(frame, true)) {
      if (status !== NtStatus.STATUS_NO_MORE_FILES || msg.length < HDR + 9) continue;
      msg.writeUInt32LE(0, 8); // Status
      msg.writeUInt16LE(9, HDR); // StructureSize
      msg.writeUInt16LE(HDR + 8, HDR + 2); // OutputBufferOffset
      msg.writeUInt32LE(0, HDR + 4); // OutputBufferLength
      n++;
    }
  };
  return { hook, rewritten: () => n };
}

/** toServer hook: set SMB2_RESTART_SCANS on every QUERY_DIRECTORY, so the server lists the same entries forever. */
export function restartEveryScan(): FrameHook {
  return (frame) => {
    for (const { msg } of queryDirectories(frame, false)) msg[HDR + 3]! |= QueryDirectoryFlags.RESTART_SCANS;
  };
}

/**
 * toClient hook: in successful QUERY_DIRECTORY replies, replace each name
 * that is a key of `names` by its value (same UTF-16 length, checked here).
 * `rewritten()` counts replaced names.
 */
export function renameEntries(names: Record<string, string>): { hook: FrameHook; rewritten: () => number } {
  for (const [from, to] of Object.entries(names)) {
    if (from.length !== to.length) throw new Error(`renameEntries: ${JSON.stringify(from)} and ${JSON.stringify(to)} differ in length`);
  }
  let n = 0;
  const hook: FrameHook = (frame) => {
    for (const { msg, status } of queryDirectories(frame, true)) if (status === 0) renameIn(msg);
  };
  const renameIn = (frame: Buffer) => {
    const off = frame.readUInt16LE(HDR + 2);
    const end = off + frame.readUInt32LE(HDR + 4);
    for (let e = off; e + NAME_AT <= end; ) {
      const next = frame.readUInt32LE(e);
      const len = frame.readUInt32LE(e + NAME_LEN_AT);
      const to = names[frame.toString('utf16le', e + NAME_AT, e + NAME_AT + len)];
      if (to !== undefined) {
        frame.write(to, e + NAME_AT, len, 'utf16le');
        n++;
      }
      if (next === 0) break;
      e += next;
    }
  };
  return { hook, rewritten: () => n };
}

/**
 * toClient hook: in successful QUERY_DIRECTORY replies, the first character
 * of every name becomes one that differs per reply (U+4E00 + reply number),
 * so with restartEveryScan() each reply brings names never seen before: a
 * listing that never ends and always makes progress.
 */
export function freshNamesEveryReply(): FrameHook {
  let reply = 0;
  const markIn = (frame: Buffer) => {
    const mark = 0x4e00 + (reply++ % 0x5000);
    const off = frame.readUInt16LE(HDR + 2);
    const end = off + frame.readUInt32LE(HDR + 4);
    for (let e = off; e + NAME_AT <= end; ) {
      const next = frame.readUInt32LE(e);
      if (frame.readUInt32LE(e + NAME_LEN_AT) >= 2) frame.writeUInt16LE(mark, e + NAME_AT);
      if (next === 0) break;
      e += next;
    }
  };
  return (frame) => {
    for (const { msg, status } of queryDirectories(frame, true)) if (status === 0) markIn(msg);
  };
}

/** toServer hook recording each QUERY_DIRECTORY request's OutputBufferLength, in the order sent. */
export function recordOutputBufferLengths(): { hook: FrameHook; lengths: number[] } {
  const lengths: number[] = [];
  return { hook: (frame) => void lengths.push(...queryDirectories(frame, false).map(({ msg }) => msg.readUInt32LE(HDR + 28))), lengths };
}

/** toServer hook: cut every QUERY_DIRECTORY request's OutputBufferLength to `len`, so a listing takes many replies. */
export function shrinkOutputBuffer(len: number): FrameHook {
  return (frame) => {
    // OutputBufferLength (MS-SMB2 2.2.33)
    for (const { msg } of queryDirectories(frame, false)) msg.writeUInt32LE(len, HDR + 28);
  };
}

/**
 * A proxy in front of `server` with the given hooks that also counts the
 * QUERY_DIRECTORY requests going through it. Closed in teardown.
 */
export async function countingProxy(
  t: { teardown(fn: () => unknown): void },
  server: { host: string; port: number },
  hooks: { toServer?: FrameHook; toClient?: FrameHook },
): Promise<{ port: number; queries: () => number }> {
  const q = countQueries();
  const proxy = await startProxy({
    host: server.host,
    port: server.port,
    toServer: (f, i, relay) => {
      q.hook(f, i, relay);
      return hooks.toServer?.(f, i, relay);
    },
    ...(hooks.toClient ? { toClient: hooks.toClient } : {}),
  });
  t.teardown(() => proxy.close());
  return { port: proxy.port, queries: q.count };
}
