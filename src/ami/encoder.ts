/**
 * The AMI encoder: a message as Asterisk writes it. CRLF after every header, a blank CRLF
 * line after the message; a legacy `Response: Follows` body is written raw and closed with
 * `--END COMMAND--`, as Asterisk 13 and older do. Header order, case and repeats are kept.
 */
import type { AmiMessage } from './message.js';

export const END_COMMAND_MARKER = '--END COMMAND--';

/** The message as text (a byte string: one character per byte). */
export function encodeText(msg: AmiMessage): string {
  let s = '';
  for (const [name, value] of msg.headers) s += name + ': ' + value + '\r\n';
  if (msg.follows !== undefined) s += msg.follows + END_COMMAND_MARKER + '\r\n';
  return s + '\r\n';
}

/** The message as the bytes to write on the wire: its raw bytes when it still has them. */
export function encodeMessage(msg: AmiMessage): Buffer {
  return msg.raw ?? Buffer.from(encodeText(msg), 'latin1');
}

/** The banner a server sends first: `Asterisk Call Manager/<version>` and CRLF, nothing after. */
export function encodeBanner(version: string): Buffer {
  return Buffer.from(`Asterisk Call Manager/${version}\r\n`, 'latin1');
}
