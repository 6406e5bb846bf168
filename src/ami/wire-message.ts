/**
 * A message from a PBX, decoded lazily. The decoder finds where the message ends and notes
 * where a few headers stand — the ones every event is asked for on its way to the clients
 * (routing: Event, ActionID, Response; event classes: Privilege; the fan-out's `Server:` tag) —
 * and keeps the bytes as they came. Every other header is read only when something asks for
 * `headers` (a filter, a format other than raw AMI, an edit): then all of them are parsed at once,
 * from the bytes, exactly as the eager decoder would have read them, and kept.
 *
 * Look-ups go through message.ts (getHeader, messageKind), which answers the indexed headers
 * from here without parsing; raw AMI clients are written `raw` untouched.
 */
import type { AmiHeader, AmiMessage, MessageKind } from './message.js';

/** The indexed headers, in the order of their slots in a WireMessage's `at` offsets. */
export const INDEXED = ['event', 'actionid', 'response', 'privilege', 'server'] as const;

/** Slot of an indexed header name (lower case), or -1. */
export function indexedSlot(lowerName: string): number {
  switch (lowerName) {
    case 'event':
      return 0;
    case 'actionid':
      return 1;
    case 'response':
      return 2;
    case 'privilege':
      return 3;
    case 'server':
      return 4;
    default:
      return -1;
  }
}

/** Slot of a name as callers write it (the canonical spelling first, then any case). */
function slotOf(name: string): number {
  switch (name) {
    case 'Event':
      return 0;
    case 'ActionID':
      return 1;
    case 'Response':
      return 2;
    case 'Privilege':
      return 3;
    case 'Server':
      return 4;
    default:
      return name.length >= 5 && name.length <= 9 ? indexedSlot(name.toLowerCase()) : -1;
  }
}

/** What whichValue() answers when the message has no such header, or the name is not indexed. */
export const ABSENT = -2;
export const NOT_INDEXED = -3;

/** Offsets of the indexed headers' values in `raw`: [start, end] per slot, -1 for an absent header. */
export type IndexedOffsets = number[];

export function noOffsets(): IndexedOffsets {
  return [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1];
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

/**
 * The headers of a message's bytes as the from-server decoder reads them: one per line with a
 * colon, up to the first empty line (or `limit`); the name is what comes before the first colon,
 * the value every byte after the single space that may follow it, without the line ending.
 */
export function parseWireHeaders(raw: Buffer, limit = raw.length): AmiHeader[] {
  const headers: AmiHeader[] = [];
  let pos = 0;
  while (pos < limit) {
    let lf = raw.indexOf(LF, pos);
    if (lf < 0 || lf >= limit) lf = limit;
    const end = lf > pos && raw[lf - 1] === CR ? lf - 1 : lf;
    if (end === pos) break;
    let colon = -1;
    for (let i = pos; i < end; i++) {
      if (raw[i] === COLON) {
        colon = i;
        break;
      }
    }
    if (colon >= 0) {
      const v = colon + 1 < end && raw[colon + 1] === SPACE ? colon + 2 : colon + 1;
      headers.push([raw.toString('latin1', pos, colon), raw.toString('latin1', v, end)]);
    }
    pos = lf + 1;
  }
  return headers;
}

const CRLF_CRLF = 0x0d0a0d0a;

export class WireMessage implements AmiMessage {
  #headers: AmiHeader[] | undefined;
  /** Its bytes are buf[start, end): views of them are made only when asked for. */
  readonly #buf: Buffer;
  readonly #start: number;
  readonly #end: number;
  #raw: Buffer | undefined;
  #head: Buffer | null | undefined;
  /** Judged by its first header as the decoder read it; undefined when that is none of Event, Response, Action. */
  readonly #kind: MessageKind | undefined;
  readonly #at: IndexedOffsets;
  /** Set on a copy with a header appended: its bytes end with that header, the rest are the original's. */
  readonly #tail: { readonly header: AmiHeader; readonly baseLength: number } | undefined;

  /** `at`: offsets from `start`. */
  constructor(
    buf: Buffer,
    start: number,
    end: number,
    kind: MessageKind | undefined,
    at: IndexedOffsets,
    tail?: { readonly header: AmiHeader; readonly baseLength: number },
  ) {
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
    this.#kind = kind;
    this.#at = at;
    this.#tail = tail;
  }

  /** The bytes of the message as the PBX sent them, the blank line that ends it included. */
  get raw(): Buffer {
    return (this.#raw ??= this.#start === 0 && this.#end === this.#buf.length ? this.#buf : this.#buf.subarray(this.#start, this.#end));
  }

  /** Its bytes without the blank line that ends them (where an appended header goes); null when they do not end with CRLF CRLF. */
  get head(): Buffer | null {
    if (this.#head === undefined) {
      const buf = this.#buf;
      const end = this.#end;
      this.#head = end - this.#start >= 4 && buf.readUInt32BE(end - 4) === CRLF_CRLF ? buf.subarray(this.#start, end - 2) : null;
    }
    return this.#head;
  }

  get headers(): readonly AmiHeader[] {
    if (this.#headers === undefined) {
      const tail = this.#tail;
      if (tail === undefined) this.#headers = parseWireHeaders(this.raw);
      else {
        this.#headers = parseWireHeaders(this.raw, tail.baseLength);
        this.#headers.push(tail.header);
      }
    }
    return this.#headers;
  }

  /** What it is, by its first header, when that says it (see messageKind). */
  get kind(): MessageKind | undefined {
    return this.#kind;
  }

  /**
   * The value of the first header named `name` when that is one of the indexed ones (undefined
   * when the message has none); null when `name` is not indexed (ask `headers`).
   */
  indexed(name: string): string | undefined | null {
    const slot = slotOf(name);
    if (slot < 0) return null;
    const from = this.#at[2 * slot]!;
    return from < 0 ? undefined : this.#buf.toString('latin1', this.#start + from, this.#start + this.#at[2 * slot + 1]!);
  }

  /**
   * Which of `texts` the value of the first header named `name` (an indexed one) is, compared
   * byte for byte without making a string: its index, -1 for none of them, ABSENT when the
   * message has no such header, NOT_INDEXED when `name` is not indexed.
   */
  whichValue(name: string, texts: readonly string[]): number {
    const slot = slotOf(name);
    if (slot < 0) return NOT_INDEXED;
    const from = this.#at[2 * slot]!;
    if (from < 0) return ABSENT;
    const buf = this.#buf;
    const start = this.#start + from;
    const length = this.#at[2 * slot + 1]! - from;
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!;
      if (text.length !== length) continue;
      let j = 0;
      while (j < length && buf[start + j] === text.charCodeAt(j)) j++;
      if (j === length) return i;
    }
    return -1;
  }

  /**
   * The same message with a header appended before its blank line, still as bytes (nothing is
   * parsed); undefined when its bytes do not end with CRLF CRLF (a bare-LF message), which the
   * caller then rebuilds from the headers.
   */
  withAppended(name: string, value: string): WireMessage | undefined {
    if (this.head === null) return undefined;
    const raw = this.raw;
    const baseLength = raw.length - 2;
    const line = `${name}: ${value}\r\n\r\n`;
    const bytes = Buffer.allocUnsafe(baseLength + line.length);
    raw.copy(bytes, 0, 0, baseLength);
    bytes.write(line, baseLength, 'latin1');
    const at = this.#at.slice();
    const slot = slotOf(name);
    if (slot >= 0 && at[2 * slot]! < 0) {
      at[2 * slot] = baseLength + name.length + 2;
      at[2 * slot + 1] = baseLength + line.length - 4;
    }
    const base = this.#tail;
    const tail = { header: [name, value] as const, baseLength };
    if (base !== undefined) {
      // Appended twice: the first tail becomes part of what is parsed… unless it carries line breaks; keep it exact.
      const message = new WireMessage(bytes, 0, bytes.length, this.#kind, at, tail);
      message.#headers = [...this.headers, tail.header];
      return message;
    }
    return new WireMessage(bytes, 0, bytes.length, this.#kind, at, tail);
  }

  /** What JSON shows of it (logs, tests): its headers, as for any message. */
  toJSON(): { headers: readonly AmiHeader[] } {
    return { headers: this.headers };
  }
}
