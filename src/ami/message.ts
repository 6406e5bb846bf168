/**
 * The AMI message model: an ordered list of headers, kept exactly as received.
 *
 * Strings in a message are "byte strings": each character is one byte of the wire
 * (latin1 decoding). That makes decode → encode lossless for any bytes, UTF-8 or not,
 * and keeps the hot path free of UTF-8 validation. Text that comes from elsewhere
 * (proxy.conf, proxy-generated messages) goes through `toWire()` before it is put in
 * a message, and `fromWire()` turns a value back into a JavaScript string.
 *
 * Header names keep their case and order; repeated names (several `Variable:` or
 * `Output:` lines) are normal. Look-ups are case-insensitive, as in Asterisk.
 */

import { WireMessage } from './wire-message.js';

export type AmiHeader = readonly [name: string, value: string];

export interface AmiMessage {
  readonly headers: readonly AmiHeader[];
  /**
   * The exact bytes the message was decoded from (from a server, when it arrived in one
   * chunk): the encoder writes them as they are instead of encoding the headers again.
   * Every helper that changes a message returns one without them.
   */
  readonly raw?: Buffer;
  /**
   * Raw output of a legacy `Response: Follows` command reply (Asterisk 13 and older):
   * every byte between the headers and the `--END COMMAND--` marker.
   */
  readonly follows?: string;
}

export type MessageKind = 'event' | 'response' | 'action' | 'other';

/** Builds a message from name/value pairs. */
export function amiMessage(...headers: AmiHeader[]): AmiMessage {
  return { headers };
}

/** Index of the first header named `name` (case-insensitive), or -1. */
export function headerIndex(msg: AmiMessage, name: string): number {
  const h = msg.headers;
  const len = name.length;
  for (let i = 0; i < h.length; i++) {
    const n = h[i]![0];
    if (n.length === len && (n === name || n.toLowerCase() === name.toLowerCase())) return i;
  }
  return -1;
}

/**
 * Value of the first header named `name` (case-insensitive). A message from a PBX answers the
 * headers its decoder indexed (wire-message.ts) without parsing the others.
 */
export function getHeader(msg: AmiMessage, name: string): string | undefined {
  if (msg instanceof WireMessage) {
    const v = msg.indexed(name);
    if (v !== null) return v;
  }
  const i = headerIndex(msg, name);
  return i < 0 ? undefined : msg.headers[i]![1];
}

/** Whether the message has a header named `name` (case-insensitive). */
export function hasHeader(msg: AmiMessage, name: string): boolean {
  return getHeader(msg, name) !== undefined;
}

/**
 * The ActionID of a message as Asterisk understands it: the first ActionID header, and none
 * when that is empty (Asterisk echoes no ActionID line for an empty one).
 */
export function actionIdOf(msg: AmiMessage): string | undefined {
  const id = getHeader(msg, 'ActionID');
  return id === '' ? undefined : id;
}

/** Every value of the headers named `name`, in order. */
export function getHeaders(msg: AmiMessage, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [n, v] of msg.headers) if (n.toLowerCase() === lower) out.push(v);
  return out;
}

/**
 * What a message is, judged by its first header as Asterisk writes it:
 * `OriginateResponse` events carry a `Response:` header too, so `Event:` must win.
 */
export function messageKind(msg: AmiMessage): MessageKind {
  if (msg instanceof WireMessage) {
    const kind = msg.kind;
    if (kind !== undefined) return kind;
  }
  const first = msg.headers[0]?.[0].toLowerCase();
  if (first === 'event') return 'event';
  if (first === 'response') return 'response';
  if (first === 'action') return 'action';
  if (hasHeader(msg, 'Event')) return 'event';
  if (hasHeader(msg, 'Response')) return 'response';
  if (headerIndex(msg, 'Action') >= 0) return 'action';
  return 'other';
}

/**
 * Sets the value of the first header named `name` where it stands; appends it when absent.
 * `value === undefined` removes that first occurrence. Returns a new message.
 */
export function withHeader(msg: AmiMessage, name: string, value: string | undefined): AmiMessage {
  const i = headerIndex(msg, name);
  let headers: AmiHeader[];
  if (i < 0) {
    if (value === undefined) return msg;
    headers = [...msg.headers, [name, value]];
  } else if (value === undefined) {
    headers = msg.headers.filter((_, j) => j !== i);
  } else {
    headers = msg.headers.slice();
    headers[i] = [msg.headers[i]![0], value];
  }
  return msg.follows === undefined ? { headers } : { headers, follows: msg.follows };
}

/** Removes every header named `name`. Returns the same message when there is none. */
export function withoutHeaders(msg: AmiMessage, name: string): AmiMessage {
  if (headerIndex(msg, name) < 0) return msg;
  const lower = name.toLowerCase();
  const headers = msg.headers.filter(([n]) => n.toLowerCase() !== lower);
  return msg.follows === undefined ? { headers } : { headers, follows: msg.follows };
}

const CRLF_CRLF = 0x0d0a0d0a;

/**
 * Appends a header. Returns a new message. A message with its raw bytes keeps raw bytes:
 * the new header goes before the blank line that ends them, so the bytes need no encoding.
 */
export function appendHeader(msg: AmiMessage, name: string, value: string): AmiMessage {
  if (msg instanceof WireMessage) {
    const appended = msg.withAppended(name, value);
    if (appended !== undefined) return appended;
  }
  const headers = [...msg.headers, [name, value] as const];
  if (msg.follows !== undefined) return { headers, follows: msg.follows };
  const raw = msg.raw;
  if (raw !== undefined && raw.length >= 4 && raw.readUInt32BE(raw.length - 4) === CRLF_CRLF) {
    const extra = Buffer.from(`${name}: ${value}\r\n\r\n`, 'latin1');
    return { headers, raw: Buffer.concat([raw.subarray(0, raw.length - 2), extra], raw.length - 2 + extra.length) };
  }
  return { headers };
}

/** A JavaScript (UTF-16) string as the byte string that carries its UTF-8 bytes. */
export function toWire(text: string): string {
  // Pure ASCII is its own byte string: skip the round trip on the common path.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string read off the wire as a JavaScript string (UTF-8 decoded). */
export function fromWire(bytes: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(bytes) ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}

/** Case-insensitive equality of two header values or names (ASCII). */
export function sameText(a: string | undefined, b: string): boolean {
  return a !== undefined && a.length === b.length && a.toLowerCase() === b.toLowerCase();
}
