/**
 * A streaming AMI decoder: Buffer chunks in, messages out through a handler.
 * Socket-free; copies bytes only when a line spans two chunks.
 *
 * Two sides, because the two directions of AMI are read differently:
 * - `from-client` reads what a client sends to a server, as Asterisk reads it: values lose
 *   their leading blanks and end at a NUL; every bare blank line is reported (Asterisk answers
 *   each with "Missing action in request").
 * - `from-server` reads what an AMI server sends: a banner line first, values keep every byte
 *   after the single space that follows the colon (Command output is often indented), blank
 *   lines between messages are skipped, and legacy `Response: Follows … --END COMMAND--`
 *   replies (Asterisk 13 and older) are read as one message with a raw `follows` body.
 *
 * From a server, messages are read lazily (`lazy`, the default): the decoder finds where each
 * message ends and notes where the few headers routing asks for stand, and the message keeps its
 * bytes — its other headers are parsed only when asked for (see wire-message.ts). What it reads
 * is the same as the eager reading (`lazy: false`, kept as the reference the tests compare with):
 * a message that breaks a limit, or a `Response: Follows` reply, is read eagerly from there on.
 *
 * Limits are explicit. A message that breaks one is not delivered: the handler's `error`
 * gets the code, Asterisk's text for it and the headers read so far (so the reply can carry
 * the ActionID), and decoding goes on with the next message. Nothing is truncated silently.
 */
import type { AmiHeader, AmiMessage, MessageKind } from './message.js';
import { noOffsets, parseWireHeaders, WireMessage, type IndexedOffsets } from './wire-message.js';

export interface DecoderLimits {
  /** Longest line, counting its line ending. Asterisk's line buffer is 1024 bytes. */
  readonly maxLineBytes: number;
  /** Most header lines in one message. Asterisk takes 128. */
  readonly maxHeaders: number;
  /** Most bytes in one message, line endings included. */
  readonly maxMessageBytes: number;
}

/** What Asterisk accepts from a client; amiplex holds clients to the same. */
export const CLIENT_LIMITS: DecoderLimits = Object.freeze({
  maxLineBytes: 1024,
  maxHeaders: 128,
  maxMessageBytes: 128 * 1024,
});

/** What amiplex accepts from a PBX: room for large Command, GetConfig and ListCommands replies. */
export const SERVER_LIMITS: DecoderLimits = Object.freeze({
  maxLineBytes: 1024 * 1024,
  maxHeaders: 200_000,
  maxMessageBytes: 32 * 1024 * 1024,
});

export type DecodeErrorCode = 'LINE_TOO_LONG' | 'TOO_MANY_HEADERS' | 'MESSAGE_TOO_LARGE';

/** Asterisk's own words for each limit, so a client cannot tell amiplex from Asterisk. */
export const DECODE_ERROR_TEXT: Readonly<Record<DecodeErrorCode, string>> = Object.freeze({
  LINE_TOO_LONG: 'Failed to parse message: line too long',
  TOO_MANY_HEADERS: 'Too many lines in message or allocation failure',
  MESSAGE_TOO_LARGE: 'Failed to parse message: message too large',
});

export interface DecoderHandler {
  message(msg: AmiMessage): void;
  /** The first line from a server (`Asterisk Call Manager/11.0.0`), without its line ending. */
  banner?(line: string): void;
  /** A bare blank line outside any message (from-client side only). */
  blank?(): void;
  error(code: DecodeErrorCode, text: string, headers: readonly AmiHeader[]): void;
}

export type DecoderSide = 'from-client' | 'from-server';

export interface DecoderOptions {
  side: DecoderSide;
  limits?: Partial<DecoderLimits>;
  /** from-server only: whether a banner line comes first (default true). */
  banner?: boolean;
  /** from-server only: read messages lazily (default true); false reads every header as it comes. */
  lazy?: boolean;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const TAB = 9;
const NUL = 0;
const END_COMMAND = '--END COMMAND--';
const EMPTY = Buffer.alloc(0);

/** Lower-case names as bytes, for the lazy reading's comparisons. */
const NAME = {
  event: bytesOf('event'),
  actionid: bytesOf('actionid'),
  response: bytesOf('response'),
  privilege: bytesOf('privilege'),
  server: bytesOf('server'),
  action: bytesOf('action'),
};
/** The first two letters of the indexed names, lower case, as one number. */
const EV = pairOf('ev');
const AC = pairOf('ac');
const RE = pairOf('re');
const PR = pairOf('pr');
const SE = pairOf('se');
const RESPONSE = bytesOf('Response');
const FOLLOWS = bytesOf('Follows');

function pairOf(text: string): number {
  return (text.charCodeAt(0) << 8) | text.charCodeAt(1);
}

function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Where the decoder stands inside a legacy `Response: Follows` reply. */
const enum Follows {
  No,
  /** After `Response: Follows`: Privilege/ActionID headers may still come. */
  Headers,
  /** Raw command output until the `--END COMMAND--` marker. */
  Body,
}

export class AmiDecoder {
  private readonly limits: DecoderLimits;
  private readonly fromClient: boolean;
  private readonly bannerFirst: boolean;
  private expectBanner: boolean;
  /** Whether messages are read lazily (from-server). */
  private readonly lazy: boolean;

  /** Pieces of a line that started in an earlier chunk, and their total length. */
  private carry: Buffer[] = [];
  private carried = 0;
  /** Inside a line that broke maxLineBytes: dropping bytes until its end. */
  private discarding = false;

  private headers: AmiHeader[] = [];
  /** Headers of the current message so far (read eagerly). */
  private stored = 0;
  /** Lines of the current message so far, and whether one was a header (read lazily). */
  private lines = 0;
  private headerSeen = false;
  private sawLine = false;
  private bytes = 0;
  private failure: DecodeErrorCode | null = null;
  private follows: Follows = Follows.No;
  private body = '';
  /** The chunk the current message started in, and where (from-server: for its raw bytes). */
  private startBuf: Buffer | undefined;
  private startPos = 0;

  /** The current message is being read lazily: its bytes so far are `pieces` and then [pieceStart, pieceEnd) of pieceBuf. */
  private wire: boolean;
  private pieces: Buffer[] = [];
  private pieceBuf: Buffer | undefined;
  private pieceStart = 0;
  private pieceEnd = 0;
  /** Its indexed headers' values (offsets in its bytes) and what its first header says it is. */
  private at: IndexedOffsets | undefined;
  private kind: MessageKind | undefined;

  constructor(
    options: DecoderOptions,
    private readonly handler: DecoderHandler,
  ) {
    this.fromClient = options.side === 'from-client';
    const base = this.fromClient ? CLIENT_LIMITS : SERVER_LIMITS;
    this.limits = { ...base, ...options.limits };
    this.bannerFirst = !this.fromClient && options.banner !== false;
    this.expectBanner = this.bannerFirst;
    this.lazy = !this.fromClient && options.lazy !== false;
    this.wire = this.lazy;
  }

  /** Whether part of a message (or line) is waiting for more bytes. */
  get midMessage(): boolean {
    return this.carried > 0 || this.sawLine || this.discarding;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    if (this.carried > 0) {
      const lf = chunk.indexOf(LF);
      if (lf < 0) {
        // Still no line end: keep the pieces, join them only once the line is whole.
        if (this.carried + chunk.length >= this.limits.maxLineBytes) this.startDiscarding();
        else this.keep(chunk);
        return;
      }
      // The line that started in an earlier chunk, joined (only it is copied), then the rest in place.
      pos = lf + 1;
      this.carry.push(chunk.subarray(0, pos));
      const line = Buffer.concat(this.carry, this.carried + pos);
      this.carry = [];
      this.carried = 0;
      this.scan(line, 0);
    }
    this.scan(chunk, pos);
  }

  /** Every complete line of `buf` from `pos` on; the unfinished end is kept for the next chunk. */
  private scan(buf: Buffer, pos: number): void {
    const max = this.limits.maxLineBytes;
    const len = buf.length;
    while (pos < len) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        if (this.discarding) return;
        if (len - pos >= max) this.startDiscarding();
        else this.keep(buf.subarray(pos));
        return;
      }
      const next = lf + 1;
      if (this.discarding) {
        this.discarding = false;
        pos = next;
        continue;
      }
      if (next - pos > max) {
        this.sawLine = true;
        this.fail('LINE_TOO_LONG');
        pos = next;
        continue;
      }
      const end = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      if (this.wire && !this.expectBanner) this.wireLine(buf, pos, end, next);
      else this.line(buf, pos, end, next);
      pos = next;
    }
  }

  /** Keeps the start of an unfinished line; copied so a large chunk is not kept alive by its tail. */
  private keep(part: Buffer): void {
    this.carry.push(Buffer.from(part));
    this.carried += part.length;
  }

  /** The current line cannot end within the limit: drop it as it streams in. */
  private startDiscarding(): void {
    this.carry = [];
    this.carried = 0;
    this.discarding = true;
    this.sawLine = true;
    this.fail('LINE_TOO_LONG');
  }

  /** Forgets any partial message; a from-server decoder expects a banner again (a new connection). */
  reset(): void {
    this.expectBanner = this.bannerFirst;
    this.carry = [];
    this.carried = 0;
    this.discarding = false;
    this.clear();
  }

  private line(buf: Buffer, start: number, end: number, next: number): void {
    if (this.expectBanner) {
      this.expectBanner = false;
      this.handler.banner?.(buf.toString('latin1', start, end));
      return;
    }
    if (this.follows !== Follows.No) {
      this.followsLine(buf, start, end, next);
      return;
    }
    if (start === end) {
      this.endOfMessage(buf, start, next);
      return;
    }
    if (!this.sawLine) {
      this.startBuf = buf;
      this.startPos = start;
    }
    this.sawLine = true;
    if (!this.count(next - start)) return;
    const colon = indexWithin(buf, COLON, start, end);
    if (colon >= 0 && !this.room()) return;
    // A lazy decoder reading eagerly near a limit still keeps the message's bytes.
    if (this.lazy && this.failure === null) this.addPiece(buf, start, next);
    if (colon < 0) return; // Asterisk ignores lines without a colon.
    const name = buf.toString('latin1', start, colon);
    const value = this.value(buf, colon + 1, end);
    this.headers.push([name, value]);
    this.stored++;
    if (!this.fromClient && this.stored === 1 && value === 'Follows' && name === 'Response') {
      this.follows = Follows.Headers;
    }
  }

  /**
   * One line of a message read lazily: its bytes are kept, and only a line that may be one of
   * the indexed headers is looked at (by its first two letters, then whether its colon stands
   * right after the name). Lines are counted, not headers: as long as a message has no more
   * lines than maxHeaders (and bytes than maxMessageBytes) no limit can break; near one, the
   * message is read eagerly from there on, which counts exactly.
   */
  private wireLine(buf: Buffer, start: number, end: number, next: number): void {
    if (start === end) {
      // Blank lines between messages are skipped.
      if (this.sawLine) this.endOfMessage(buf, start, next);
      return;
    }
    const offset = this.bytes;
    if (this.lines === this.limits.maxHeaders || offset + (next - start) > this.limits.maxMessageBytes) {
      this.materialize(true);
      this.line(buf, start, end, next);
      return;
    }
    this.lines++;
    this.bytes = offset + (next - start);
    this.sawLine = true;
    if (buf === this.pieceBuf && start === this.pieceEnd) this.pieceEnd = next;
    else this.addPiece(buf, start, next);
    if (!this.headerSeen) {
      this.firstHeader(buf, start, end, offset);
      return;
    }
    // The shortest indexed header line is `Event:`.
    const length = end - start;
    if (length < 6) return;
    switch (((buf[start]! | 0x20) << 8) | (buf[start + 1]! | 0x20)) {
      case EV:
        if (buf[start + 5] === COLON && sameName(buf, start, NAME.event)) this.note(0, buf, start, start + 5, end, offset);
        break;
      case AC:
        if (length > 8 && buf[start + 8] === COLON && sameName(buf, start, NAME.actionid)) this.note(1, buf, start, start + 8, end, offset);
        break;
      case RE:
        if (length > 8 && buf[start + 8] === COLON && sameName(buf, start, NAME.response)) this.note(2, buf, start, start + 8, end, offset);
        break;
      case PR:
        if (length > 9 && buf[start + 9] === COLON && sameName(buf, start, NAME.privilege)) this.note(3, buf, start, start + 9, end, offset);
        break;
      case SE:
        if (length > 6 && buf[start + 6] === COLON && sameName(buf, start, NAME.server)) this.note(4, buf, start, start + 6, end, offset);
        break;
    }
  }

  /** Lazy reading, until the message's first header: what it says the message is (and whether it is a legacy command reply). */
  private firstHeader(buf: Buffer, start: number, end: number, offset: number): void {
    const colon = indexWithin(buf, COLON, start, end);
    if (colon < 0) return;
    this.headerSeen = true;
    let slot = -1;
    switch (colon - start) {
      case 5:
        if (sameName(buf, start, NAME.event)) slot = 0;
        break;
      case 6:
        if (sameName(buf, start, NAME.server)) slot = 4;
        else if (sameName(buf, start, NAME.action)) this.kind = 'action';
        break;
      case 8:
        if (sameName(buf, start, NAME.actionid)) slot = 1;
        else if (sameName(buf, start, NAME.response)) slot = 2;
        break;
      case 9:
        if (sameName(buf, start, NAME.privilege)) slot = 3;
        break;
    }
    if (slot === 0) this.kind = 'event';
    if (slot === 2) {
      this.kind = 'response';
      const v = colon + 1 < end && buf[colon + 1] === SPACE ? colon + 2 : colon + 1;
      if (sameBytes(buf, start, colon, RESPONSE) && sameBytes(buf, v, end, FOLLOWS)) {
        // A legacy command reply: read eagerly, its body raw (see followsLine).
        this.materialize(false);
        this.follows = Follows.Headers;
        return;
      }
    }
    if (slot >= 0) this.note(slot, buf, start, colon, end, offset);
  }

  /** Lazy reading: where the value of an indexed header stands in the message's bytes, unless an earlier one of that name did. */
  private note(slot: number, buf: Buffer, start: number, colon: number, end: number, offset: number): void {
    const at = (this.at ??= noOffsets());
    if (at[2 * slot]! >= 0) return;
    const v = colon + 1 < end && buf[colon + 1] === SPACE ? colon + 2 : colon + 1;
    at[2 * slot] = offset + (v - start);
    at[2 * slot + 1] = offset + (end - start);
  }

  /** Lazy reading: the bytes of one more line of the message (contiguous lines make one piece). */
  private addPiece(buf: Buffer, start: number, next: number): void {
    if (buf === this.pieceBuf && start === this.pieceEnd) {
      this.pieceEnd = next;
      return;
    }
    if (this.pieceBuf !== undefined) this.pieces.push(this.pieceBuf.subarray(this.pieceStart, this.pieceEnd));
    this.pieceBuf = buf;
    this.pieceStart = start;
    this.pieceEnd = next;
  }

  /** Lazy reading: the message's bytes so far, in one Buffer (a view of the chunk when they are all in one). */
  private takeBytes(): Buffer {
    const last = this.pieceBuf === undefined ? EMPTY : this.pieceBuf.subarray(this.pieceStart, this.pieceEnd);
    if (this.pieces.length === 0) return last;
    this.pieces.push(last);
    return Buffer.concat(this.pieces);
  }

  /**
   * From here on the current message is read eagerly: its headers so far are parsed from its
   * bytes; `keepBytes`: they stay, and the lines to come are added (its raw bytes).
   */
  private materialize(keepBytes: boolean): void {
    if (!this.wire) return;
    this.wire = false;
    const bytes = this.pieceBuf === undefined ? undefined : this.takeBytes();
    this.headers = bytes === undefined ? [] : parseWireHeaders(bytes);
    this.stored = this.headers.length;
    this.dropBytes();
    if (keepBytes && bytes !== undefined) {
      this.pieceBuf = bytes;
      this.pieceEnd = bytes.length;
    }
  }

  private dropBytes(): void {
    if (this.pieces.length > 0) this.pieces = [];
    this.pieceBuf = undefined;
    this.pieceStart = 0;
    this.pieceEnd = 0;
  }

  private value(buf: Buffer, from: number, end: number): string {
    let v = from;
    if (this.fromClient) {
      while (v < end && (buf[v] === SPACE || buf[v] === TAB)) v++;
      const nul = indexWithin(buf, NUL, v, end);
      if (nul >= 0) end = nul;
    } else if (v < end && buf[v] === SPACE) {
      v++;
    }
    return buf.toString('latin1', v, end);
  }

  private followsLine(buf: Buffer, start: number, end: number, next: number): void {
    const stored = this.count(next - start);
    const text = buf.toString('latin1', start, end);
    if (text.endsWith(END_COMMAND)) {
      if (this.failure === null) this.body += text.slice(0, text.length - END_COMMAND.length);
      this.endOfMessage();
      return;
    }
    if (this.follows === Follows.Headers) {
      const colon = text.indexOf(':');
      const name = colon > 0 ? text.slice(0, colon) : '';
      const lower = name.toLowerCase();
      if (lower === 'privilege' || lower === 'actionid') {
        if (stored && this.room()) {
          this.stored++;
          this.headers.push([name, text.charCodeAt(colon + 1) === SPACE ? text.slice(colon + 2) : text.slice(colon + 1)]);
        }
        return;
      }
      this.follows = Follows.Body;
    }
    if (this.failure === null) this.body += buf.toString('latin1', start, next);
  }

  /** Counts a line's bytes against maxMessageBytes; false once the message is over it (stop storing). */
  private count(lineBytes: number): boolean {
    this.bytes += lineBytes;
    if (this.bytes <= this.limits.maxMessageBytes) return true;
    this.fail('MESSAGE_TOO_LARGE');
    return false;
  }

  /** Whether one more header may be stored; breaking maxHeaders fails the message. */
  private room(): boolean {
    if (this.stored < this.limits.maxHeaders) return true;
    this.fail('TOO_MANY_HEADERS');
    return false;
  }

  private fail(code: DecodeErrorCode): void {
    // The first limit broken is the one reported; the headers read so far go with it.
    if (this.failure === null) this.failure = code;
    if (!this.lazy) return;
    this.materialize(false);
    this.dropBytes();
  }

  private endOfMessage(buf?: Buffer, start = 0, next = 0): void {
    const { headers, failure } = this;
    if (failure !== null) {
      this.clear();
      this.handler.error(failure, DECODE_ERROR_TEXT[failure], headers);
      return;
    }
    if (!this.sawLine && this.follows === Follows.No) {
      if (this.fromClient) this.handler.blank?.();
      return;
    }
    let msg: AmiMessage;
    if (this.follows !== Follows.No) msg = { headers, follows: this.body };
    else if (this.wire) {
      this.addPiece(buf!, start, next);
      const at = this.at ?? noOffsets();
      if (this.pieces.length === 0) msg = new WireMessage(this.pieceBuf!, this.pieceStart, this.pieceEnd, this.kind, at);
      else {
        const bytes = this.takeBytes();
        msg = new WireMessage(bytes, 0, bytes.length, this.kind, at);
      }
    } else if (this.lazy) {
      this.addPiece(buf!, start, next);
      msg = { headers, raw: this.takeBytes() };
    } else if (!this.fromClient && buf !== undefined && buf === this.startBuf) msg = { headers, raw: buf.subarray(this.startPos, next) };
    else msg = { headers };
    this.clear();
    this.handler.message(msg);
  }

  private clear(): void {
    this.headers = [];
    this.stored = 0;
    this.lines = 0;
    this.headerSeen = false;
    this.sawLine = false;
    this.bytes = 0;
    this.failure = null;
    this.follows = Follows.No;
    this.body = '';
    this.startBuf = undefined;
    this.wire = this.lazy;
    this.dropBytes();
    this.at = undefined;
    this.kind = undefined;
  }
}

/** Whether buf[start…] is `lower` whatever the case of its ASCII letters (the caller checked the length). */
function sameName(buf: Buffer, start: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) if ((buf[start + i]! | 0x20) !== lower[i]) return false;
  return true;
}

/** Whether buf[from, end) is exactly `bytes`. */
function sameBytes(buf: Buffer, from: number, end: number, bytes: Uint8Array): boolean {
  if (end - from !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[from + i] !== bytes[i]) return false;
  return true;
}

/** Index of `byte` in buf[from, end), or -1: never scans past the line (no quadratic cost on big chunks). */
function indexWithin(buf: Buffer, byte: number, from: number, end: number): number {
  if (end - from <= 64) {
    for (let i = from; i < end; i++) if (buf[i] === byte) return i;
    return -1;
  }
  const i = buf.subarray(from, end).indexOf(byte);
  return i < 0 ? -1 : from + i;
}
