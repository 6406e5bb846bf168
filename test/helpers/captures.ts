/**
 * Test helpers for the AMI codec: the recorded captures of a real Asterisk 22 (a byte-exact
 * copy of the team's shared `ami-captures`, kept in test/fixtures so that a clone anywhere
 * runs the tests; .gitattributes keeps git from touching their CRLFs) as Buffers, and a small harness that feeds a decoder a Buffer in
 * given chunks and collects everything it reports, in order.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { AmiDecoder, type DecodeErrorCode, type DecoderOptions } from '../../src/ami/decoder.js';
import type { AmiHeader, AmiMessage } from '../../src/ami/message.js';

export const CAPTURES_DIR = fileURLToPath(new URL('../fixtures/ami-captures/', import.meta.url));

const CAPTURE_FILE = /^\d\d[a-z]?-.+\.txt$/;
const CLIENT_SUFFIX = '.sent.txt';
const NOT_SERVER_SIDE = /\.(sent|transcript|summary)\.txt$/;

function listCaptureFiles(): string[] {
  return readdirSync(CAPTURES_DIR)
    .filter((f) => CAPTURE_FILE.test(f))
    .sort();
}

/** Names (without `.txt`) of every capture of what Asterisk sent: `01-banner-login-logoff`, … */
export function serverCaptureNames(): string[] {
  return listCaptureFiles()
    .filter((f) => !NOT_SERVER_SIDE.test(f))
    .map((f) => f.slice(0, -'.txt'.length));
}

/** Names (without `.sent.txt`) of every capture of what a client sent to Asterisk. */
export function clientCaptureNames(): string[] {
  return listCaptureFiles()
    .filter((f) => f.endsWith(CLIENT_SUFFIX))
    .map((f) => f.slice(0, -CLIENT_SUFFIX.length));
}

const cache = new Map<string, Buffer>();

function readCached(file: string): Buffer {
  let buf = cache.get(file);
  if (buf === undefined) {
    buf = readFileSync(CAPTURES_DIR + file);
    cache.set(file, buf);
  }
  return buf;
}

/** The exact bytes Asterisk sent in capture `name`. */
export function serverCapture(name: string): Buffer {
  return readCached(`${name}.txt`);
}

/** The exact bytes the client sent in capture `name`. */
export function clientCapture(name: string): Buffer {
  return readCached(`${name}${CLIENT_SUFFIX}`);
}

/**
 * The sizes of the reads/writes the transcript of capture `name` records for one direction,
 * in order (`C->S` = what the client wrote, `S->C` = what Asterisk wrote);
 * undefined when the capture has no transcript.
 */
export function transcriptChunkSizes(name: string, direction: 'C->S' | 'S->C'): number[] | undefined {
  let text: string;
  try {
    text = readCached(`${name}.transcript.txt`).toString('latin1');
  } catch {
    return undefined;
  }
  const sizes: number[] = [];
  const re = /^--- t=[\d.]+s (C->S|S->C) (\d+) bytes$/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[1] === direction) sizes.push(Number(m[2]));
  }
  return sizes;
}

// ---------------------------------------------------------------------------------------------
// Feeding a decoder

/** Everything a decoder reports, as one ordered list. */
export type DecodeEvent =
  | { readonly kind: 'banner'; readonly line: string }
  | { readonly kind: 'message'; readonly message: AmiMessage }
  | { readonly kind: 'blank' }
  | {
      readonly kind: 'error';
      readonly code: DecodeErrorCode;
      readonly text: string;
      readonly headers: readonly AmiHeader[];
    };

export interface DecodeResult {
  readonly events: DecodeEvent[];
  /** `decoder.midMessage` after the last chunk. */
  readonly midMessage: boolean;
}

/** A fresh decoder fed `chunks` in order. */
export function decodeChunks(chunks: Iterable<Buffer>, options: DecoderOptions): DecodeResult {
  const events: DecodeEvent[] = [];
  const decoder = new AmiDecoder(options, {
    // What a message says; its raw bytes (which depend on the chunking) are tested in codec-raw.test.ts.
    message: ({ headers, follows }) => events.push({ kind: 'message', message: follows === undefined ? { headers } : { headers, follows } }),
    banner: (line) => events.push({ kind: 'banner', line }),
    blank: () => events.push({ kind: 'blank' }),
    error: (code, text, headers) => events.push({ kind: 'error', code, text, headers }),
  });
  for (const chunk of chunks) decoder.push(chunk);
  return { events, midMessage: decoder.midMessage };
}

/** `buf` cut at the given increasing offsets (pieces may be empty). */
export function splitAt(buf: Buffer, ...offsets: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const at of offsets) {
    pieces.push(buf.subarray(from, at));
    from = at;
  }
  pieces.push(buf.subarray(from));
  return pieces;
}

/** `buf` in pieces of `size` bytes (the last one shorter). */
export function chunksOf(buf: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) pieces.push(buf.subarray(i, i + size));
  return pieces;
}

/** `buf` in pieces of the given sizes; the rest, if any, as a last piece. */
export function chunksBySizes(buf: Buffer, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const size of sizes) {
    pieces.push(buf.subarray(from, from + size));
    from += size;
  }
  if (from < buf.length) pieces.push(buf.subarray(from));
  return pieces;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** `buf` in pieces of random sizes between 1 and `maxSize` bytes. */
export function randomChunks(buf: Buffer, random: () => number, maxSize: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const size = 1 + randomInt(random, maxSize);
    pieces.push(buf.subarray(i, i + size));
    i += size;
  }
  return pieces;
}

/**
 * Whether two decode results are the same, compared cheaply (this runs tens of thousands of
 * times); on a mismatch, use `expect(...).toEqual(...)` to get a readable diff.
 */
export function sameResult(a: DecodeResult, b: DecodeResult): boolean {
  if (a.midMessage !== b.midMessage || a.events.length !== b.events.length) return false;
  for (let i = 0; i < a.events.length; i++) {
    const x = a.events[i]!;
    const y = b.events[i]!;
    if (x.kind !== y.kind) return false;
    switch (x.kind) {
      case 'banner':
        if (x.line !== (y as typeof x).line) return false;
        break;
      case 'message': {
        const m = (y as typeof x).message;
        if (x.message.follows !== m.follows || !sameHeaders(x.message.headers, m.headers)) return false;
        break;
      }
      case 'error': {
        const e = y as typeof x;
        if (x.code !== e.code || x.text !== e.text || !sameHeaders(x.headers, e.headers)) return false;
        break;
      }
      case 'blank':
        break;
    }
  }
  return true;
}

function sameHeaders(a: readonly AmiHeader[], b: readonly AmiHeader[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

/** The messages among decode events. */
export function messagesOf(events: readonly DecodeEvent[]): AmiMessage[] {
  const out: AmiMessage[] = [];
  for (const e of events) if (e.kind === 'message') out.push(e.message);
  return out;
}

/** A byte string (one character per byte) as a Buffer. */
export function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/**
 * Offsets where a decoder is between messages: 0, after the banner line (when `banner`), after
 * every blank line, and the end of `buf`. Found by scanning for LF, independently of the
 * decoder. (Not valid inside a legacy `Response: Follows` body, where blank lines are data;
 * no capture has one.)
 */
export function messageBoundaries(buf: Buffer, banner: boolean): number[] {
  const out = [0];
  let expectBanner = banner;
  for (let pos = 0; pos < buf.length; ) {
    const lf = buf.indexOf(0x0a, pos);
    if (lf < 0) break;
    const blank = lf === pos || (lf === pos + 1 && buf[pos] === 0x0d);
    if (expectBanner || blank) out.push(lf + 1);
    expectBanner = false;
    pos = lf + 1;
  }
  if (out[out.length - 1] !== buf.length) out.push(buf.length);
  return out;
}

/** A stable 32-bit seed derived from a name (FNV-1a), so each capture gets its own sequence. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Events of a capture, as the hub hands them to filters

/**
 * The messages of server capture `name`, decoded from one chunk (so each keeps its raw bytes,
 * as events from a PBX do), in order.
 */
export function captureMessages(name: string): AmiMessage[] {
  const out: AmiMessage[] = [];
  const decoder = new AmiDecoder({ side: 'from-server', limits: { maxLineBytes: 2 * 1024 * 1024 } }, {
    message: (m) => out.push(m),
    error: () => undefined,
  });
  decoder.push(serverCapture(name));
  return out;
}

/** The events (messages starting `Event:`) of server capture `name`, in order. */
export function captureEvents(name: string): AmiMessage[] {
  return captureMessages(name).filter((m) => m.headers[0]?.[0] === 'Event');
}
