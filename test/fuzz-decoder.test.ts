/**
 * Property tests (fast-check) of the AMI decoder: whatever bytes arrive, split however the
 * network splits them, the decoder never throws and reports exactly what it reports for the same
 * bytes in one piece — messages, blank lines, errors and banners, in the same order. The input
 * pacer hands a client's bytes over in arbitrary slices, so this is what makes pacing safe.
 * Inputs are random bytes, and AMI-shaped fragments (header lines, blank lines, bare CR and LF,
 * NUL, `Response: Follows` bodies, lines over the limit) mixed with random bytes; each on both
 * sides, with Asterisk's limits and with tiny ones so every limit is reached often.
 *
 * And the lazy reading of a server's messages (the default) against the eager one: the same
 * messages, headers, errors and banners; the indexed look-ups (getHeader, messageKind) answer as
 * on the eager headers; the bytes kept are the message's own, however the input is split.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmiDecoder, type DecoderOptions } from '../src/ami/decoder.js';
import { encodeMessage } from '../src/ami/encoder.js';
import { eventClassBits } from '../src/ami/event-classes.js';
import { amiMessage, appendHeader, getHeader, messageKind, type AmiHeader, type AmiMessage } from '../src/ami/message.js';
import { decodeChunks, sameResult, splitAt } from './helpers/captures.js';

const TINY = { maxLineBytes: 24, maxHeaders: 4, maxMessageBytes: 96 };

const SIDES: ReadonlyArray<[string, DecoderOptions]> = [
  ['from-client', { side: 'from-client' }],
  ['from-client, tiny limits', { side: 'from-client', limits: TINY }],
  ['from-server', { side: 'from-server' }],
  ['from-server without banner, tiny limits', { side: 'from-server', banner: false, limits: TINY }],
];

const FRAGMENTS = [
  '\r\n', '\n', '\r', '\r\n\r\n', ':', ': ', '\0', '\t', ' ',
  'Action: Ping', 'action:ping', 'ActionID: 42', 'Response: Success', 'Response: Error', 'Response: Follows',
  'Privilege: Command', '--END COMMAND--', 'EventList: start', 'EventList: Complete', 'Event: Newchannel',
  'Asterisk Call Manager/11.0.0', 'no colon here', 'x'.repeat(30), 'y'.repeat(1100), '\xff\xfe',
  'event: Hangup', 'EVENT:', 'Privilege: call,all', 'privilege:', 'Server: pbx', 'SERVER:x', 'actionid: 7',
  'ActionID:', 'response:Follows', 'Action: Foo', 'Eventx: 1', 'Servers: 2', '\xc5vent: 1',
].map((s) => Buffer.from(s, 'latin1'));

/** Random bytes, or AMI-shaped fragments and random bytes mixed. */
const input = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FRAGMENTS) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) }), { maxLength: 120 }).map((parts) => Buffer.concat(parts)),
);

/** Cut points, as fractions of the input's length (the same cuts scale to any input). */
const cuts = fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 40 });

function split(buf: Buffer, fractions: number[]): Buffer[] {
  const offsets = fractions.map((f) => Math.floor((f / 1_000_000) * buf.length)).sort((a, b) => a - b);
  return splitAt(buf, ...offsets);
}

describe('AMI decoder, property tests', () => {
  for (const [label, options] of SIDES) {
    it(`${label}: arbitrary bytes split arbitrarily never throw and decode as the bytes in one piece`, () => {
      fc.assert(
        fc.property(input, cuts, (buf, fractions) => {
          const whole = decodeChunks([buf], options);
          const pieces = decodeChunks(split(buf, fractions), options);
          expect(sameResult(whole, pieces), JSON.stringify({ whole: whole.events.slice(0, 6), pieces: pieces.events.slice(0, 6) })).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('byte by byte too', () => {
    fc.assert(
      fc.property(input, (buf) => {
        for (const [, options] of SIDES) {
          const bytes = Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
          expect(sameResult(decodeChunks([buf], options), decodeChunks(bytes, options))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });
});

/** What a decoder reported, the messages as they came (lazy or not). */
type Reported =
  | { readonly kind: 'message'; readonly message: AmiMessage }
  | { readonly kind: 'error'; readonly code: string; readonly headers: readonly AmiHeader[] }
  | { readonly kind: 'banner'; readonly line: string };

function report(chunks: Buffer[], options: DecoderOptions): Reported[] {
  const out: Reported[] = [];
  const d = new AmiDecoder(options, {
    message: (message) => out.push({ kind: 'message', message }),
    error: (code, _text, headers) => out.push({ kind: 'error', code, headers }),
    banner: (line) => out.push({ kind: 'banner', line }),
  });
  for (const c of chunks) d.push(c);
  return out;
}

const NAMES = ['Event', 'event', 'EVENT', 'ActionID', 'actionid', 'Response', 'response', 'Privilege', 'PRIVILEGE', 'Server', 'server', 'Action', 'action', 'Uniqueid', 'Eventx', 'Servers', 'X', '\xc5vent', ''];
const VALUES = ['Follows', 'Success', 'Error', 'call,all', 'call,al', 'system,all', 'user,all', 'CALL,ALL', '', ' x', 'Newchannel', 'pbx', '\xff\xfe', 'a:b', '--END COMMAND--'];
const EOLS = ['\r\n', '\n', '\r\n', '\r\r\n'];

/** A header line (name, colon, optional spaces, value), or a line AMI has no use for. */
const line = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(':', ': ', ':  '), fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 12 }))).map(([n, c, v]) => n + c + v) },
  { weight: 2, arbitrary: fc.constantFrom('Response: Follows', 'Privilege: Command', 'no colon', '--END COMMAND--', 'Output: x', '\r', '') },
);

/** Messages of such lines, each line ended one of the ways a decoder meets, each message by a blank line; random bytes sometimes between. */
const messages = fc
  .array(
    fc.tuple(fc.array(fc.tuple(line, fc.constantFrom(...EOLS)), { maxLength: 8 }), fc.constantFrom(...EOLS), fc.option(fc.uint8Array({ maxLength: 8 }), { freq: 6 })),
    { maxLength: 12 },
  )
  .map((list) =>
    Buffer.concat(list.flatMap(([lines, end, noise]) => [Buffer.from(lines.map(([l, eol]) => l + eol).join('') + end, 'latin1'), Buffer.from(noise ?? [])])),
  );

const LOOKUPS = ['Event', 'event', 'EVENT', 'ActionID', 'actionid', 'Response', 'Privilege', 'Server', 'server', 'Action', 'Uniqueid', 'Eventx'];

const SERVER_SIDES: ReadonlyArray<[string, DecoderOptions]> = [
  ['Asterisk limits', { side: 'from-server' }],
  ['tiny limits, no banner', { side: 'from-server', banner: false, limits: TINY }],
];

describe('lazy reading of a server, property tests', () => {
  for (const [label, options] of SERVER_SIDES) {
    it(`${label}: the same as the eager reading for arbitrary bytes split arbitrarily`, () => {
      fc.assert(
        fc.property(fc.oneof(input, messages), cuts, (buf, fractions) => {
          const chunks = split(buf, fractions);
          const lazy = report(chunks, options);
          const lazyWhole = report([buf], options);
          const eager = report(chunks, { ...options, lazy: false });
          expect(lazy.length).toBe(eager.length);
          expect(lazyWhole.length).toBe(eager.length);
          lazy.forEach((got, i) => {
            const want = eager[i]!;
            expect(got.kind).toBe(want.kind);
            if (got.kind === 'banner') expect(got.line).toBe((want as typeof got).line);
            if (got.kind === 'error') {
              const e = want as typeof got;
              expect([got.code, got.headers]).toEqual([e.code, e.headers]);
            }
            if (got.kind !== 'message') return;
            const m = got.message;
            const e = (want as typeof got).message;
            const plain = amiMessage(...e.headers);
            expect(m.headers).toEqual(e.headers);
            expect(m.follows).toBe(e.follows);
            for (const name of LOOKUPS) expect(getHeader(m, name), name).toBe(getHeader(plain, name));
            expect(messageKind(m)).toBe(messageKind(plain));
            expect(eventClassBits(m)).toBe(eventClassBits(plain));
            if (m.follows !== undefined) return;
            // Its own bytes, whatever the split; the eager reading's when it kept them (one chunk).
            expect(m.raw).toBeDefined();
            expect(m.raw).toEqual((lazyWhole[i] as typeof got).message.raw);
            if (e.raw !== undefined) expect(m.raw).toEqual(e.raw);
            const tagged = appendHeader(m, 'Server', 'pbx');
            expect(tagged.headers).toEqual(appendHeader(plain, 'Server', 'pbx').headers);
            expect(getHeader(tagged, 'Server')).toBe(getHeader(plain, 'Server') ?? 'pbx');
            if (tagged.raw !== undefined) expect(encodeMessage(tagged).toString('latin1').endsWith('Server: pbx\r\n\r\n')).toBe(true);
          });
        }),
        { numRuns: 500 },
      );
    });
  }
});
