/**
 * What may be sent again after a reconnect, and how (MS-SMB2 3.2.5.1.8 and
 * 3.2.4.1.8, replay): requests whose effect is the same however often the
 * server sees them are resent as they are; requests that change state are
 * resent only on a durable handle and, on 3.x, with
 * SMB2_FLAGS_REPLAY_OPERATION so the server can recognise a repeat. The rest
 * fail with the connection (the caller decides).
 *
 * A request names its open by the FileId in its body; after a reconnect the
 * reopened handle may have a new one, so parked requests are rewritten.
 */
import type { SmbMessage } from './message.js';
import { Smb2Command } from './pdu/header.js';

/** 'idempotent': resend as is; 'replay': resend, flagged as a replay on 3.x; null: never. */
export type ReplayClass = 'idempotent' | 'replay' | null;

/** Offset of the FileId in the request body, per command (MS-SMB2 2.2.x request layouts). */
const FILE_ID_AT: Partial<Record<number, number>> = {
  [Smb2Command.CLOSE]: 8,
  [Smb2Command.FLUSH]: 8,
  [Smb2Command.READ]: 16,
  [Smb2Command.WRITE]: 16,
  [Smb2Command.LOCK]: 8,
  [Smb2Command.IOCTL]: 8,
  [Smb2Command.QUERY_DIRECTORY]: 8,
  [Smb2Command.CHANGE_NOTIFY]: 8,
  [Smb2Command.QUERY_INFO]: 24,
  [Smb2Command.SET_INFO]: 16,
  [Smb2Command.OPLOCK_BREAK]: 8,
};

/** CREATE body fields (2.2.13). */
const CREATE_DISPOSITION_AT = 36;
const CREATE_OPTIONS_AT = 40;
const FILE_OPEN = 1;
const FILE_OPEN_IF = 3;
const FILE_DELETE_ON_CLOSE = 0x1000;

/** SET_INFO classes whose effect does not depend on how often they are applied. */
const SET_INFO_CLASS_AT = 3;
const IDEMPOTENT_SET_INFO = new Set([
  4, // FileBasicInformation
  19, // FileAllocationInformation
  20, // FileEndOfFileInformation
  15, // FileFullEaInformation
]);

/** Setup requests: the only ones sent while a reconnect is under way. */
export function isSetup(m: SmbMessage): boolean {
  return m.setup || m.command === Smb2Command.NEGOTIATE || m.command === Smb2Command.SESSION_SETUP || m.command === Smb2Command.TREE_CONNECT;
}

/** The 16-byte FileId a request names, or null. */
export function fileIdOf(m: SmbMessage): Buffer | null {
  const at = FILE_ID_AT[m.command];
  if (at === undefined || m.body.length < at + 16) return null;
  return m.body.subarray(at, at + 16);
}

/** Rewrite the request's FileId when `map` (old hex → new) names it. */
export function rewriteFileId(m: SmbMessage, map: ReadonlyMap<string, Buffer>): void {
  if (map.size === 0) return;
  const id = fileIdOf(m);
  const to = id && map.get(id.toString('hex'));
  if (to) to.copy(id!);
}

/** How a request may be sent again after a reconnect. */
export function replayClass(m: SmbMessage): ReplayClass {
  if (m.replay !== undefined) return m.replay;
  switch (m.command) {
    case Smb2Command.READ:
    case Smb2Command.QUERY_INFO:
    case Smb2Command.FLUSH:
    // The same bytes at the same offset: the file ends up the same however often it lands.
    case Smb2Command.WRITE:
      return 'idempotent';
    case Smb2Command.SET_INFO:
      return IDEMPOTENT_SET_INFO.has(m.body[SET_INFO_CLASS_AT]!) ? 'idempotent' : 'replay';
    // A repeated CLOSE gets STATUS_FILE_CLOSED, which every caller accepts.
    case Smb2Command.CLOSE:
      return 'idempotent';
    case Smb2Command.CREATE: {
      if (m.body.length < CREATE_OPTIONS_AT + 4) return null;
      const disposition = m.body.readUInt32LE(CREATE_DISPOSITION_AT);
      const options = m.body.readUInt32LE(CREATE_OPTIONS_AT);
      const opensOnly = disposition === FILE_OPEN || disposition === FILE_OPEN_IF;
      return opensOnly && (options & FILE_DELETE_ON_CLOSE) === 0 ? 'idempotent' : null;
    }
    default:
      return null;
  }
}
