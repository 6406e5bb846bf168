/**
 * Property tests (fast-check) of the http input format (formats/http.ts): whatever a request's
 * path, query string and body hold, parsing never throws; form text decodes back to the pairs
 * it encodes, byte for byte; and a request's parameters give the same action (or the same
 * refusal) whether they all come in the query string or are split, at any parameter, between
 * the query string and a form body.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeComponent, parseActionRequest, parseEventsQuery, parseForm, routeOf, type FormatInfo } from '../formats/http.js';

const FORMATS: FormatInfo[] = [
  { name: 'standard', contentType: 'text/plain' },
  { name: 'json', contentType: 'application/json' },
  { name: 'xml', contentType: 'text/xml' },
];

/** A byte string (one character per byte), as the listener hands the query and body over. */
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a).toString('latin1'));

/** Query-ish text: random bytes, or the characters that matter to the parser mixed with words. */
const queryText = fc.oneof(
  bytes(400),
  fc.array(fc.constantFrom('&', '=', '%', '%4', '%41', '%zz', '+', 'Action', 'action', 'Ping', 'ActionID', 'format', 'timeout', 'json', '5', '0', 'Variable', 'a=b', ':', '%0D%0A', '%00', ' ', 'é'), { maxLength: 60 }).map((p) => p.join('')),
);

const PATHS = ['/rawman', '/json', '/mxml', '/action', '/asterisk/rawman', '/events', '/', '/nowhere', '/static/../x'];

/** Every byte percent-encoded but unreserved ones: the form text a browser would send. */
function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += /[A-Za-z0-9\-_.~]/.test(ch) ? ch : `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

describe('http input format, property tests', () => {
  it('never throws, whatever the path, query, body and Accept', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...PATHS), bytes(60)), queryText, fc.option(queryText, { nil: undefined }), fc.option(bytes(80), { nil: undefined }), (path, query, body, accept) => {
        routeOf(path);
        parseForm(query);
        decodeComponent(query);
        parseEventsQuery(query);
        const r = parseActionRequest({ path, query, ...(body === undefined ? {} : { body }), ...(accept === undefined ? {} : { accept }) }, FORMATS);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('form text decodes back to the pairs it encodes, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes(30), bytes(60)), { maxLength: 20 }), (pairs) => {
        const text = pairs.map(([n, v]) => `${encode(n)}=${encode(v)}`).join('&');
        expect(parseForm(text)).toEqual(pairs);
      }),
      { numRuns: 500 },
    );
  });

  it('parameters split at any one between the query string and a form body give the same action or refusal', () => {
    fc.assert(
      fc.property(fc.constantFrom('/rawman', '/json', '/action', '/events'), queryText, fc.integer({ min: 0, max: 1000 }), (path, text, at) => {
        const amps = [...text.matchAll(/&/g)].map((m) => m.index);
        if (amps.length === 0) return;
        const cut = amps[at % amps.length]!;
        const whole = parseActionRequest({ path, query: text }, FORMATS);
        const split = parseActionRequest({ path, query: text.slice(0, cut), body: text.slice(cut + 1) }, FORMATS);
        expect(split).toEqual(whole);
      }),
      { numRuns: 1000 },
    );
  });
});
