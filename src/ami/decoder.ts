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
 * Limits are explicit. A message that breaks one is not delivered: the handler's `error`
 * gets the code, Asterisk's text for it and the headers read so far (so the reply can carry
 * the ActionID), and decoding goes on with the next message. Nothing is truncated silently.
 */
import type { AmiHeader, AmiMessage } from './message.js';

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
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const TAB = 9;
const NUL = 0;
const END_COMMAND = '--END COMMAND--';

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

  /** Pieces of a line that started in an earlier chunk, and their total length. */
  private carry: Buffer[] = [];
  private carried = 0;
  /** Inside a line that broke maxLineBytes: dropping bytes until its end. */
  private discarding = false;

  private headers: AmiHeader[] = [];
  private sawLine = false;
  private bytes = 0;
  private failure: DecodeErrorCode | null = null;
  private follows: Follows = Follows.No;
  private body = '';
  /** The chunk the current message started in, and where (from-server: for its raw bytes). */
  private startBuf: Buffer | undefined;
  private startPos = 0;

  constructor(
    options: DecoderOptions,
    private readonly handler: DecoderHandler,
  ) {
    this.fromClient = options.side === 'from-client';
    const base = this.fromClient ? CLIENT_LIMITS : SERVER_LIMITS;
    this.limits = { ...base, ...options.limits };
    this.bannerFirst = !this.fromClient && options.banner !== false;
    this.expectBanner = this.bannerFirst;
  }

  /** Whether part of a message (or line) is waiting for more bytes. */
  get midMessage(): boolean {
    return this.carried > 0 || this.sawLine || this.discarding;
  }

  push(chunk: Buffer): void {
    const max = this.limits.maxLineBytes;
    let buf = chunk;
    if (this.carried > 0) {
      if (chunk.indexOf(LF) < 0) {
        // Still no line end: keep the pieces, join them only once the line is whole.
        if (this.carried + chunk.length >= max) this.startDiscarding();
        else this.keep(chunk);
        return;
      }
      this.carry.push(chunk);
      buf = Buffer.concat(this.carry, this.carried + chunk.length);
      this.carry = [];
      this.carried = 0;
    }
    let pos = 0;
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
      this.line(buf, pos, end, next);
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
      this.endOfMessage(buf, next);
      return;
    }
    if (!this.sawLine) {
      this.startBuf = buf;
      this.startPos = start;
    }
    this.sawLine = true;
    if (!this.count(next - start)) return;
    const colon = indexWithin(buf, COLON, start, end);
    if (colon < 0) return; // Asterisk ignores lines without a colon.
    if (!this.room()) return;
    const name = buf.toString('latin1', start, colon);
    const value = this.value(buf, colon + 1, end);
    this.headers.push([name, value]);
    if (!this.fromClient && this.headers.length === 1 && value === 'Follows' && name === 'Response') {
      this.follows = Follows.Headers;
    }
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
    if (this.headers.length < this.limits.maxHeaders) return true;
    this.fail('TOO_MANY_HEADERS');
    return false;
  }

  private fail(code: DecodeErrorCode): void {
    // The first limit broken is the one reported.
    if (this.failure === null) this.failure = code;
  }

  private endOfMessage(buf?: Buffer, next = 0): void {
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
    else if (!this.fromClient && buf !== undefined && buf === this.startBuf) msg = { headers, raw: buf.subarray(this.startPos, next) };
    else msg = { headers };
    this.clear();
    this.handler.message(msg);
  }

  private clear(): void {
    this.headers = [];
    this.sawLine = false;
    this.bytes = 0;
    this.failure = null;
    this.follows = Follows.No;
    this.body = '';
    this.startBuf = undefined;
  }
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
