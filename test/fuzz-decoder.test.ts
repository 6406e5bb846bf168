/**
 * Property tests (fast-check) of the AMI decoder: whatever bytes arrive, split however the
 * network splits them, the decoder never throws and reports exactly what it reports for the same
 * bytes in one piece — messages, blank lines, errors and banners, in the same order. The input
 * pacer hands a client's bytes over in arbitrary slices, so this is what makes pacing safe.
 * Inputs are random bytes, and AMI-shaped fragments (header lines, blank lines, bare CR and LF,
 * NUL, `Response: Follows` bodies, lines over the limit) mixed with random bytes; each on both
 * sides, with Asterisk's limits and with tiny ones so every limit is reached often.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecoderOptions } from '../src/ami/decoder.js';
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
