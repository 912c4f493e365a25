/**
 * SMB2 command codes (MS-SMB2 2.2.1.2, the Command field of the SMB2 header).
 * Kept in a module without imports so that errors.ts can name commands
 * without an import cycle through the codecs.
 */

export const Smb2Command = {
  NEGOTIATE: 0x00,
  SESSION_SETUP: 0x01,
  LOGOFF: 0x02,
  TREE_CONNECT: 0x03,
  TREE_DISCONNECT: 0x04,
  CREATE: 0x05,
  CLOSE: 0x06,
  FLUSH: 0x07,
  READ: 0x08,
  WRITE: 0x09,
  LOCK: 0x0a,
  IOCTL: 0x0b,
  CANCEL: 0x0c,
  ECHO: 0x0d,
  QUERY_DIRECTORY: 0x0e,
  CHANGE_NOTIFY: 0x0f,
  QUERY_INFO: 0x10,
  SET_INFO: 0x11,
  OPLOCK_BREAK: 0x12,
} as const;
export type Smb2Command = (typeof Smb2Command)[keyof typeof Smb2Command];

const NAMES: string[] = [];
for (const [name, code] of Object.entries(Smb2Command)) NAMES[code] = name;

/** Spec name of a command code ('READ'), or 'COMMAND_0x..' if unknown. */
export function smb2CommandName(command: number): string {
  return NAMES[command] ?? `COMMAND_0x${command.toString(16).padStart(4, '0')}`;
}
