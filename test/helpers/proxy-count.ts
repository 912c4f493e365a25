/**
 * Round-trip counting for tests: a toServer hook (test/helpers/proxy.ts) that
 * records each request frame as the chain of commands it carries, so a test
 * can assert "one compound frame" or "no request at all" for an operation.
 * Works on unsigned, unencrypted sessions (the test share's default); an
 * encrypted frame counts as one of shape 'TRANSFORM'.
 */
import { Smb2Command, smb2CommandName } from '../../transport/pdu/header.js';
import { compoundMembers, type FrameHook } from './proxy.js';

export interface FrameCounter {
  hook: FrameHook;
  /** Request frames seen since the last reset(), each as 'CREATE+SET_INFO+CLOSE' and the like. */
  frames(): string[];
  /** Requests of one command since the last reset(), compound members included. */
  commands(name: string): number;
  reset(): void;
}

/** The commands of one frame, in compound order ('TRANSFORM' if not plain SMB2). */
export function frameShape(frame: Buffer, withNames = false): string {
  const members = compoundMembers(frame);
  if (members.length === 0) return 'TRANSFORM';
  return members
    .map(({ msg, h }) => smb2CommandName(h.command) + (withNames && h.command === Smb2Command.CREATE && !h.response ? `(${createName(msg)})` : ''))
    .join('+');
}

/** The name of a CREATE request (MS-SMB2 2.2.13: NameOffset at 64+44, NameLength at 64+46), '?' if out of range. */
function createName(msg: Buffer): string {
  if (msg.length < 64 + 48) return '?';
  const off = msg.readUInt16LE(64 + 44);
  const len = msg.readUInt16LE(64 + 46);
  return off + len <= msg.length ? msg.toString('utf16le', off, off + len) : '?';
}

/** Counts request frames; with `withNames` each CREATE shows its path ('CREATE(a\\b)'). */
export function countFrames(withNames = false): FrameCounter {
  let seen: string[] = [];
  return {
    hook: (frame) => {
      seen.push(frameShape(frame, withNames));
    },
    frames: () => [...seen],
    commands: (name) => seen.reduce((n, f) => n + f.split('+').filter((c) => c.replace(/\(.*$/, '') === name).length, 0),
    reset: () => {
      seen = [];
    },
  };
}
