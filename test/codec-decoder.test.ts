/**
 * The decoder against every recorded capture, in the manner of pg-protocol's inbound-parser
 * tests and ioredis' RESP decoder tests: each fixture fed whole, byte by byte, in the chunks
 * the peer really wrote, split in two at every offset, and in seeded random chunkings; all
 * must give the same result. Server captures must also re-encode byte for byte; client
 * captures must decode to exactly the actions Asterisk answered.
 *
 * Cost control (the suite must stay fast on two cores): a full decode of the biggest capture
 * takes about 2 ms, so "every offset of the whole file" is only affordable for small files.
 * Larger files are split inside windows of two whole messages (the message holding the
 * offset and the one before it), decoded by a fresh decoder. That is equivalent to splitting
 * the whole file because the decoder carries no state across a message boundary, which the
 * "fresh decoder per message" test below checks for every capture.
 */
import { describe, expect, it } from 'vitest';

import type { DecoderOptions } from '../src/ami/decoder.js';
import { encodeMessage } from '../src/ami/encoder.js';
import { type AmiMessage, getHeader, getHeaders, messageKind } from '../src/ami/message.js';
import {
  type DecodeEvent,
  type DecodeResult,
  chunksBySizes,
  chunksOf,
  clientCapture,
  clientCaptureNames,
  decodeChunks,
  messageBoundaries,
  messagesOf,
  randomChunks,
  randomInt,
  sameResult,
  seedOf,
  seededRandom,
  serverCapture,
  serverCaptureNames,
  splitAt,
  transcriptChunkSizes,
} from './helpers/captures.js';

/** Split the whole file in two at every offset up to this size. */
const WHOLE_FILE_SPLIT_MAX = 2 * 1024;
/** Split at every offset (inside message windows) up to this size. */
const EVERY_OFFSET_MAX = 20 * 1024;
/** For larger files: every offset of the first and last this many bytes... */
const EDGE_BYTES = 3 * 1024;
/** ...plus this many random offsets. */
const RANDOM_OFFSETS = 300;
/** For larger files: whole-file splits at this many random offsets. */
const RANDOM_WHOLE_FILE_SPLITS = 12;
/** Fixed-size chunking at every phase: each offset is a chunk boundary in exactly one pass. */
const PHASE_CHUNK = 61;
const RANDOM_CHUNKINGS = [13, 40, 333, 1500, 4096, 65_536] as const;

const BANNER = 'Asterisk Call Manager/11.0.0';

// ---------------------------------------------------------------------------------------------
// The harness shared by both sides

interface Subject {
  readonly name: string;
  readonly buf: Buffer;
  readonly side: 'from-server' | 'from-client';
}

function optionsAt(subject: Subject, start: number): DecoderOptions {
  return subject.side === 'from-server' ? { side: 'from-server', banner: start === 0 } : { side: 'from-client' };
}

const wholeCache = new Map<string, DecodeResult>();

function whole(subject: Subject): DecodeResult {
  const key = `${subject.side}:${subject.name}`;
  let result = wholeCache.get(key);
  if (result === undefined) {
    result = decodeChunks([subject.buf], optionsAt(subject, 0));
    wholeCache.set(key, result);
  }
  return result;
}

function expectSame(actual: DecodeResult, expected: DecodeResult, where: string): void {
  // The cheap comparison runs every time; the readable diff only on a mismatch.
  if (!sameResult(actual, expected)) expect(actual, where).toEqual(expected);
}

interface Segments {
  readonly bounds: number[];
  /** Each message (or the banner line, or a bare blank line) decoded by a fresh decoder. */
  readonly results: DecodeResult[];
}

const segmentCache = new Map<string, Segments>();

function segments(subject: Subject): Segments {
  const key = `${subject.side}:${subject.name}`;
  let s = segmentCache.get(key);
  if (s === undefined) {
    const bounds = messageBoundaries(subject.buf, subject.side === 'from-server');
    const results: DecodeResult[] = [];
    for (let j = 0; j + 1 < bounds.length; j++) {
      const start = bounds[j]!;
      results.push(decodeChunks([subject.buf.subarray(start, bounds[j + 1])], optionsAt(subject, start)));
    }
    s = { bounds, results };
    segmentCache.set(key, s);
  }
  return s;
}

function concatResults(results: readonly DecodeResult[]): DecodeResult {
  const events: DecodeEvent[] = [];
  for (const r of results) events.push(...r.events);
  return { events, midMessage: results.length > 0 && results[results.length - 1]!.midMessage };
}

/** Splits the whole file in two at each offset. */
function checkWholeFileSplits(subject: Subject, offsets: Iterable<number>): number {
  const expected = whole(subject);
  const options = optionsAt(subject, 0);
  let count = 0;
  for (const k of offsets) {
    expectSame(decodeChunks(splitAt(subject.buf, k), options), expected, `split at ${k}`);
    count++;
  }
  return count;
}

/**
 * Splits at each offset inside the window made of the message holding it and the message before
 * it (so a split just after a message end still has that message in the first piece).
 */
function checkWindowSplits(subject: Subject, offsets: readonly number[]): number {
  const { bounds, results } = segments(subject);
  const last = results.length - 1;
  let j = 0;
  for (const k of [...offsets].sort((a, b) => a - b)) {
    while (j < last && bounds[j + 1]! <= k) j++;
    const first = Math.max(0, j - 1);
    const end = j;
    const start = bounds[first]!;
    const window = subject.buf.subarray(start, bounds[end + 1]);
    const expected = concatResults(results.slice(first, end + 1));
    const actual = decodeChunks(splitAt(window, k - start), optionsAt(subject, start));
    expectSame(actual, expected, `split at ${k} (window ${start}..${bounds[end + 1]})`);
  }
  return offsets.length;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

function sampledOffsets(subject: Subject): number[] {
  const n = subject.buf.length;
  const set = new Set<number>([...range(0, EDGE_BYTES), ...range(n - EDGE_BYTES, n + 1)]);
  const random = seededRandom(seedOf(subject.name));
  for (let i = 0; i < RANDOM_OFFSETS; i++) set.add(randomInt(random, n + 1));
  return [...set].sort((a, b) => a - b);
}

/**
 * The tests every capture gets, on either side: same result whole, byte by byte, in the
 * recorded chunks, with a fresh decoder per message, split in two anywhere, and chunked.
 */
function framingTests(subject: Subject): void {
  const n = subject.buf.length;

  it('decodes the same fed byte by byte', () => {
    expectSame(decodeChunks(chunksOf(subject.buf, 1), optionsAt(subject, 0)), whole(subject), 'byte by byte');
  });

  const sizes = transcriptChunkSizes(subject.name, subject.side === 'from-server' ? 'S->C' : 'C->S');
  if (sizes !== undefined) {
    it('decodes the same fed in the very chunks recorded in the transcript', () => {
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      expectSame(decodeChunks(chunksBySizes(subject.buf, sizes), optionsAt(subject, 0)), whole(subject), 'recorded chunks');
    });
  }

  it('decodes the same when a fresh decoder reads each message alone (no state crosses a message boundary)', () => {
    const { bounds, results } = segments(subject);
    expect([bounds[0], bounds[bounds.length - 1]]).toEqual([0, n]);
    expectSame(concatResults(results), whole(subject), 'message by message');
  });

  if (n <= WHOLE_FILE_SPLIT_MAX) {
    it('decodes the same split in two at every offset', () => {
      expect(checkWholeFileSplits(subject, range(0, n + 1))).toBe(n + 1);
    });
  } else if (n <= EVERY_OFFSET_MAX) {
    it('decodes the same split in two at every offset (inside a window of two whole messages)', () => {
      expect(checkWindowSplits(subject, range(0, n + 1))).toBe(n + 1);
    });
  } else {
    it(`decodes the same split in two at every offset of its first and last ${EDGE_BYTES} bytes and at ${RANDOM_OFFSETS} random offsets (inside a window of two whole messages)`, () => {
      expect(checkWindowSplits(subject, sampledOffsets(subject))).toBeGreaterThan(2 * EDGE_BYTES);
    });
    it(`decodes the same with the whole capture split in two at ${RANDOM_WHOLE_FILE_SPLITS} random offsets`, () => {
      const random = seededRandom(seedOf(subject.name) ^ 0x5eed);
      const offsets = range(0, RANDOM_WHOLE_FILE_SPLITS).map(() => randomInt(random, n + 1));
      expect(checkWholeFileSplits(subject, offsets)).toBe(RANDOM_WHOLE_FILE_SPLITS);
    });
  }

  if (n <= EVERY_OFFSET_MAX) {
    it(`decodes the same in ${PHASE_CHUNK}-byte chunks at every phase (each offset a chunk boundary once)`, () => {
      for (let phase = 0; phase < PHASE_CHUNK; phase++) {
        const chunks = [subject.buf.subarray(0, phase), ...chunksOf(subject.buf.subarray(phase), PHASE_CHUNK)];
        expectSame(decodeChunks(chunks, optionsAt(subject, 0)), whole(subject), `phase ${phase}`);
      }
    });
  }

  it(`decodes the same in ${RANDOM_CHUNKINGS.length} seeded random chunkings`, () => {
    const random = seededRandom(seedOf(subject.name));
    for (const max of RANDOM_CHUNKINGS) {
      expectSame(decodeChunks(randomChunks(subject.buf, random, max), optionsAt(subject, 0)), whole(subject), `chunks of 1..${max}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// What Asterisk sent

/**
 * Where Asterisk's own bytes differ from what the encoder writes for the decoded message.
 * Capture 04: the CoreShowChannelMap error ends its Message with a bare LF, then CRLF CRLF.
 */
const KNOWN_REENCODE_DIFFERENCES: Readonly<Record<string, { readonly asterisk: string; readonly encoded: string }>> = {
  '04-eventlist-coreshowchannels-status': {
    asterisk: 'Message: CoreShowChannelMap requires a channel.\n\r\n\r\n',
    encoded: 'Message: CoreShowChannelMap requires a channel.\r\n\r\n',
  },
};

function occurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) count++;
  return count;
}

/** Where two byte sequences first differ, with some context, or null when equal. */
function firstDifference(actual: Buffer, expected: Buffer): string | null {
  if (actual.equals(expected)) return null;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  const show = (b: Buffer): string => JSON.stringify(b.toString('latin1', Math.max(0, i - 40), i + 40));
  return `lengths ${actual.length} vs ${expected.length}; first difference at byte ${i}: got ${show(actual)}, want ${show(expected)}`;
}

function reencode(events: readonly DecodeEvent[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of events) {
    if (e.kind === 'banner') parts.push(Buffer.from(`${e.line}\r\n`, 'latin1'));
    else if (e.kind === 'message') parts.push(encodeMessage(e.message));
    else throw new Error(`unexpected ${e.kind} event from a server capture`);
  }
  return Buffer.concat(parts);
}

describe.each(serverCaptureNames())('server capture %s, decoded from-server', (name) => {
  const subject: Subject = { name, buf: serverCapture(name), side: 'from-server' };

  it('reports the banner once, first, then only messages, and ends between messages', () => {
    const { events, midMessage } = whole(subject);
    expect(events[0]).toEqual({ kind: 'banner', line: BANNER });
    expect(events.slice(1).map((e) => e.kind)).toEqual(events.slice(1).map(() => 'message'));
    expect(midMessage).toBe(false);
  });

  it('re-encoding the banner and the messages reproduces the capture byte for byte', () => {
    const known = KNOWN_REENCODE_DIFFERENCES[name];
    let expected = subject.buf;
    if (known !== undefined) {
      const text = subject.buf.toString('latin1');
      expect(occurrences(text, known.asterisk)).toBe(1);
      expected = Buffer.from(text.replace(known.asterisk, known.encoded), 'latin1');
    }
    expect(firstDifference(reencode(whole(subject).events), expected)).toBeNull();
  });

  framingTests(subject);
});

describe('server captures: particular messages', () => {
  const messagesOfCapture = (name: string): AmiMessage[] =>
    messagesOf(whole({ name, buf: serverCapture(name), side: 'from-server' }).events);

  it('reads the message Asterisk ends with a bare LF (capture 04) as an ordinary message, and nothing else differs', () => {
    const messages = messagesOfCapture('04-eventlist-coreshowchannels-status');
    const i = messages.findIndex((m) => getHeader(m, 'ActionID') === 'cscm');
    expect(messages[i]).toEqual({
      headers: [
        ['Response', 'Error'],
        ['ActionID', 'cscm'],
        ['Message', 'CoreShowChannelMap requires a channel.'],
      ],
    });
    // The extra CRLF after it is skipped: the next message is the ShowDialPlan answer.
    expect(messages[i + 1]?.headers.slice(0, 3)).toEqual([
      ['Response', 'Success'],
      ['ActionID', 'sdp'],
      ['EventList', 'start'],
    ]);
  });

  it('keeps the indentation of Command output after the single space (capture 05)', () => {
    const messages = messagesOfCapture('05-command-action');
    const connected = messages.find((m) => getHeader(m, 'ActionID') === 'cmd-msc')!;
    const output = getHeaders(connected, 'Output');
    expect(output[0]).toMatch(/^ {2}Username {9}IP Address/);
    expect(output[2]).toBe('1 users connected.');
    const dialplan = messages.find((m) => getHeader(m, 'ActionID') === 'cmd-dp')!;
    expect(getHeaders(dialplan, 'Output')[2]).toMatch(/^ {20}2\. Answer\(\) {2,}\[extensions\.conf:16\]$/);
  });

  it('splits a header at its first colon only (capture 07b: "AppData: TestEvent,Foo: bar")', () => {
    const messages = messagesOfCapture('07b-originate-userevent-exten');
    const values = messages.flatMap((m) => getHeaders(m, 'AppData'));
    expect(values).toContain('TestEvent,Foo: bar');
  });

  it('keeps bare CRs inside a value and the bytes of UTF-8 (capture 11a)', () => {
    const messages = messagesOfCapture('11a-malformed-packets');
    expect(messages.map((m) => getHeader(m, 'Message'))).toContain(
      'Invalid/unknown command: Ping\rActionID: m8\r. Use Action: ListCommands to show available commands.',
    );
    expect(messages.map((m) => getHeader(m, 'ActionID'))).toContain('m11-\xc3\xa9\xe4\xb8\xad');
  });

  it('classifies every OriginateResponse as an event although it carries Response: (capture 07d)', () => {
    const originate = messagesOfCapture('07d-originate-failures').filter(
      (m) => getHeader(m, 'Event') === 'OriginateResponse',
    );
    expect(originate.length).toBeGreaterThanOrEqual(4);
    for (const m of originate) {
      expect(getHeader(m, 'Response')).toMatch(/^(Success|Failure)$/);
      expect(messageKind(m)).toBe('event');
    }
  });

  it('reads banner-only captures (15, 16) as a banner and no message', () => {
    for (const name of ['15-unauthenticated-idle-timeout', '16-unauthenticated-partial-message-timeout']) {
      expect(whole({ name, buf: serverCapture(name), side: 'from-server' })).toEqual({
        events: [{ kind: 'banner', line: BANNER }],
        midMessage: false,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// What clients sent

const fromClient = (name: string): Subject => ({ name, buf: clientCapture(name), side: 'from-client' });

const LOGIN = {
  kind: 'message',
  message: {
    headers: [
      ['Action', 'Login'],
      ['Username', 'admin'],
      ['Secret', 'admin'],
      ['ActionID', 'l'],
      ['Events', 'off'],
    ],
  },
} as const;

function action(...headers: [string, string][]): DecodeEvent {
  return { kind: 'message', message: { headers } };
}

const BLANK: DecodeEvent = { kind: 'blank' };

function lineTooLong(...headers: [string, string][]): DecodeEvent {
  return { kind: 'error', code: 'LINE_TOO_LONG', text: 'Failed to parse message: line too long', headers };
}

const actionIdOf = (headers: readonly (readonly [string, string])[]): string | undefined =>
  getHeader({ headers }, 'ActionID');

/**
 * Asterisk's answers that correspond to no client action. Capture 12a: Asterisk's 1024-byte line
 * buffer fills with the 1023 bytes and the CR of the 1023-byte line, so the LF left over is read
 * as a bare blank line and answered "Missing action in request"; amiplex reads CRLF as one line
 * ending (and the whole line as too long), which is what the Asterisk answers to the 1024- and
 * 1025-byte lines show too.
 */
function answersWithoutArtefacts(name: string, answers: AmiMessage[]): AmiMessage[] {
  if (name !== '12a-huge-header-lines') return answers;
  const i = answers.findIndex((m) => getHeader(m, 'Message') === 'Failed to parse message: line too long');
  expect(getHeader(answers[i + 1]!, 'Message')).toBe('Missing action in request');
  return answers.filter((_, j) => j !== i + 1);
}

describe.each(clientCaptureNames())('client capture %s, decoded from-client', (name) => {
  const subject = fromClient(name);

  it('decodes into exactly the actions Asterisk answered, one answer each, in order, with the same ActionID', () => {
    const units = whole(subject).events;
    const answers = answersWithoutArtefacts(
      name,
      messagesOf(whole({ name, buf: serverCapture(name), side: 'from-server' }).events).filter(
        (m) => messageKind(m) === 'response',
      ),
    );
    expect(units.length).toBe(answers.length);
    units.forEach((unit, i) => {
      const answer = answers[i]!;
      const where = `action ${i} of ${name}`;
      const message = getHeader(answer, 'Message');
      switch (unit.kind) {
        case 'message': {
          expect(getHeader(answer, 'ActionID'), where).toBe(getHeader(unit.message, 'ActionID'));
          const act = getHeader(unit.message, 'Action');
          if (message === 'Missing action in request') expect(act ?? '', where).toBe('');
          const unknown = /^Invalid\/unknown command: ([^]*)\. Use Action: ListCommands/.exec(message ?? '');
          if (unknown !== null) expect(act, where).toBe(unknown[1]);
          break;
        }
        case 'blank':
          expect(answer.headers, where).toEqual([
            ['Response', 'Error'],
            ['Message', 'Missing action in request'],
          ]);
          break;
        case 'error':
          expect(getHeader(answer, 'Response'), where).toBe('Error');
          expect(message, where).toBe(unit.text);
          expect(getHeader(answer, 'ActionID'), where).toBe(actionIdOf(unit.headers));
          break;
        case 'banner':
          throw new Error('a from-client decoder reported a banner');
      }
    });
  });

  framingTests(subject);
});

describe('client captures: what Asterisk understood', () => {
  it('02-ping: lowercase names, ActionID spaces, duplicate ActionID kept in order, LF-only lines, pipelined and split actions', () => {
    expect(whole(fromClient('02-ping'))).toEqual({
      events: [
        LOGIN,
        action(['Action', 'Ping'], ['ActionID', 'ping-1']),
        action(['Action', 'Ping']),
        action(['action', 'ping'], ['actionid', 'ping-lc']),
        action(['Action', 'Ping'], ['ActionID', 'spaced id: with colon  ']),
        action(['Action', 'Ping'], ['ActionID', 'first'], ['ActionID', 'second']),
        action(['Action', 'Ping'], ['ActionID', 'lf-only']),
        action(['Action', 'Ping'], ['ActionID', 'p1']),
        action(['Action', 'CoreStatus'], ['ActionID', 'p2']),
        action(['Action', 'Ping'], ['ActionID', 'p3']),
        action(['Action', 'Ping'], ['ActionID', 'split']),
        action(['Action', 'Logoff']),
      ],
      midMessage: false,
    });
  });

  it('02-ping: the duplicate ActionID resolves to the first, as Asterisk answered', () => {
    const dup = messagesOf(whole(fromClient('02-ping')).events)[5]!;
    expect(getHeader(dup, 'ActionID')).toBe('first');
    expect(getHeaders(dup, 'ActionID')).toEqual(['first', 'second']);
  });

  it('11a-malformed-packets: every malformed action reads as Asterisk read it', () => {
    const xh = (n: number): [string, string][] => range(0, n).map((i): [string, string] => [`X-H${i}`, 'v']);
    expect(whole(fromClient('11a-malformed-packets'))).toEqual({
      events: [
        LOGIN,
        // "Action Ping" has no colon: ignored.
        action(['ActionID', 'm1']),
        // A garbage line before the action: ignored.
        action(['Action', 'Ping'], ['ActionID', 'm2']),
        // No space after the colon.
        action(['Action', 'Ping'], ['ActionID', 'm3']),
        // A tab after the colon.
        action(['Action', 'Ping'], ['ActionID', 'm4']),
        // Trailing spaces are kept (Asterisk: "Invalid/unknown command: Ping   ").
        action(['Action', 'Ping   '], ['ActionID', 'm5   ']),
        // A space before the name makes another name (Asterisk: "Missing action").
        action([' Action', 'Ping'], ['ActionID', 'm6']),
        action(['Action', ''], ['ActionID', 'm7']),
        // Three bare blank lines: three blanks.
        BLANK,
        BLANK,
        BLANK,
        // A bare CR ends no line: one header whose value holds the CRs.
        action(['Action', 'Ping\rActionID: m8\r']),
        // A NUL cuts the value.
        action(['Action', 'Ping'], ['ActionID', 'm9']),
        // A line of high bytes without a colon: ignored.
        action(['Action', 'Ping'], ['ActionID', 'm10']),
        // UTF-8 kept as its bytes.
        action(['Action', 'Ping'], ['ActionID', 'm11-\xc3\xa9\xe4\xb8\xad']),
        // Mixed LF and CRLF.
        action(['Action', 'Ping'], ['ActionID', 'm12']),
        // Duplicate Action kept in order.
        action(['Action', 'Ping'], ['Action', 'CoreStatus'], ['ActionID', 'm13']),
        // 130 headers: too many; the 128 read so far (ActionID among them) are reported.
        {
          kind: 'error',
          code: 'TOO_MANY_HEADERS',
          text: 'Too many lines in message or allocation failure',
          headers: [['Action', 'Ping'], ['ActionID', 'many'], ...xh(126)],
        },
        // 127 headers: fine.
        action(['Action', 'Ping'], ['ActionID', 'many-ok'], ...xh(125)),
        action(['Action', 'Ping'], ['ActionID', 'still-alive']),
        action(['Action', 'Logoff']),
      ],
      midMessage: false,
    });
  });

  it('11a-malformed-packets: the header names that differ only by case or a leading space resolve as in Asterisk', () => {
    const messages = messagesOf(whole(fromClient('11a-malformed-packets')).events);
    const m6 = messages.find((m) => getHeader(m, 'ActionID') === 'm6')!;
    expect(getHeader(m6, 'Action')).toBeUndefined();
    expect(messageKind(m6)).toBe('other');
    const m13 = messages.find((m) => getHeader(m, 'ActionID') === 'm13')!;
    expect(getHeader(m13, 'action')).toBe('Ping');
  });

  it('12a-huge-header-lines: 1022 content bytes + CRLF pass; 1023 and more are LINE_TOO_LONG; the next action decodes', () => {
    const buf = clientCapture('12a-huge-header-lines');
    const id = (n: number): string => {
      const prefix = `len${n}-`;
      return prefix + 'x'.repeat(n - 'ActionID: '.length - prefix.length);
    };
    // The capture holds the lengths it claims.
    for (const n of [1000, 1021, 1022, 1023, 1024, 1025, 2000, 5000, 70000]) {
      expect(buf.includes(`\r\nActionID: ${id(n)}\r\n`)).toBe(true);
    }
    const ping = (actionId: string): DecodeEvent => action(['Action', 'Ping'], ['ActionID', actionId]);
    expect(whole(fromClient('12a-huge-header-lines'))).toEqual({
      events: [
        LOGIN,
        ping(id(1000)),
        ping('after-1000'),
        ping(id(1021)),
        ping('after-1021'),
        ping(id(1022)),
        ping('after-1022'),
        ...[1023, 1024, 1025, 2000, 5000, 70000].flatMap((n) => [lineTooLong(['Action', 'Ping']), ping(`after-${n}`)]),
        // The 3000-byte Value: the ActionID after it is reported, as Asterisk echoed it.
        lineTooLong(['Action', 'Setvar'], ['Variable', 'BIGVAR'], ['ActionID', 'bigset']),
        action(['Action', 'Logoff']),
      ],
      midMessage: false,
    });
  });

  it('12b-huge-header-before-login: the too-long line drops the Login, reports its ActionID, and the next action decodes', () => {
    expect(whole(fromClient('12b-huge-header-before-login'))).toEqual({
      events: [
        lineTooLong(['Action', 'Login'], ['Username', 'admin'], ['Secret', 'admin'], ['ActionID', 'big-login']),
        action(['Action', 'Ping'], ['ActionID', 'pre2']),
      ],
      midMessage: false,
    });
  });

  it('16-unauthenticated-partial-message-timeout: an unterminated action is held, not delivered', () => {
    expect(whole(fromClient('16-unauthenticated-partial-message-timeout'))).toEqual({ events: [], midMessage: true });
  });

  it('15-unauthenticated-idle-timeout: nothing sent, nothing decoded', () => {
    expect(whole(fromClient('15-unauthenticated-idle-timeout'))).toEqual({ events: [], midMessage: false });
  });
});
