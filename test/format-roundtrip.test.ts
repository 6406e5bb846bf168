/**
 * Every output format read back by a standard parser: every message of every server capture and
 * a set of awkward messages, encoded one by one (`encode`, as on a TCP stream) and all together
 * (`document`, as an HTTP body), parsed with fast-xml-parser, csv-parse and JSON.parse, must give
 * back the same headers — for xml through its documented name mapping, for json through its
 * documented grouping of repeated names.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';

import { type AmiHeader, type AmiMessage, fromWire, toWire } from '../src/ami/message.js';
import { DuplicateFormatError, builtinFormats } from '../src/formats.js';
import { csvFormat } from '../formats/csv.js';
import { jsonFormat } from '../formats/json.js';
import { xmlFormat } from '../formats/xml.js';
import { decodeChunks, messagesOf, serverCapture, serverCaptureNames } from './helpers/captures.js';

// ---------------------------------------------------------------------------------------------
// What each format must give back, written from the documented structure (not from the code)

/** Header names and values as text, and a legacy body under ':follows'. */
function textPairs(msg: AmiMessage): Array<[string, string]> {
  const pairs: Array<[string, string]> = msg.headers.map(([n, v]) => [fromWire(n), fromWire(v)]);
  if (msg.follows !== undefined) pairs.push([':follows', fromWire(msg.follows)]);
  return pairs;
}

// eslint-disable-next-line no-control-regex
const NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const xmlValue = (bytes: string): string => fromWire(bytes).replace(NOT_XML, '\ufffd');

/** The documented attribute list of a message: mapped, numbered names in order, and the body. */
function expectedXml(msg: AmiMessage): { attributes: Array<[string, string]>; text: string } {
  const counts = new Map<string, number>();
  const attributes = msg.headers.map(([name, value]): [string, string] => {
    let base = '';
    for (const ch of name) base += /[A-Za-z0-9]/.test(ch) ? ch.toLowerCase() : '_';
    if (base === '' || /^[0-9]/.test(base) || base === 'xmlns') base = '_' + base;
    const n = (counts.get(base) ?? 0) + 1;
    counts.set(base, n);
    return [n === 1 ? base : `${base}-${n}`, xmlValue(value)];
  });
  return { attributes, text: msg.follows === undefined ? '' : xmlValue(msg.follows) };
}

function expectedCsv(msg: AmiMessage): string[] {
  const fields = textPairs(msg).flat();
  return fields.length === 0 ? [''] : fields;
}

function expectedJson(msg: AmiMessage): unknown {
  const groups = new Map<string, string[]>();
  for (const [n, v] of textPairs(msg)) groups.set(n, [...(groups.get(n) ?? []), v]);
  return Object.fromEntries([...groups].map(([n, vs]) => [n, vs.length === 1 ? vs[0] : vs]));
}

// ---------------------------------------------------------------------------------------------
// Reading each format back

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true, // numeric character references (&#13;)
  isArray: (name, _path, _leaf, isAttribute) => !isAttribute && name === 'response',
});

/** Checks what no XML 1.0 document may hold, which XMLValidator does not look at. */
function expectXml10Chars(xml: string): void {
  expect(NOT_XML.test(xml)).toBe(false);
  NOT_XML.lastIndex = 0;
  for (const [, code] of xml.matchAll(/&#(\d+);/g)) expect(['9', '10', '13']).toContain(code);
}

function readXmlResponse(response: Record<string, unknown>): { attributes: Array<[string, string]>; text: string } {
  expect(response['@_type']).toBe('object');
  expect(response['@_id']).toBe('unknown');
  const generic = response['generic'] as Record<string, string>;
  const attributes = Object.entries(generic)
    .filter(([k]) => k.startsWith('@_'))
    .map(([k, v]): [string, string] => [k.slice(2), v]);
  return { attributes, text: generic['#text'] ?? '' };
}

function readXmlDocument(body: Buffer) {
  const xml = body.toString('utf8');
  expect(XMLValidator.validate(xml)).toBe(true);
  expectXml10Chars(xml);
  const doc = xmlParser.parse(xml) as { 'ajax-response': { response?: Array<Record<string, unknown>> } };
  return (doc['ajax-response'].response ?? []).map(readXmlResponse);
}

function readXmlLine(piece: Buffer) {
  const xml = piece.toString('utf8');
  expect(xml.indexOf('\n')).toBe(xml.length - 1); // one line
  expect(XMLValidator.validate(xml)).toBe(true);
  expectXml10Chars(xml);
  const doc = xmlParser.parse(xml) as { response: Array<Record<string, unknown>> };
  expect(doc.response).toHaveLength(1);
  return readXmlResponse(doc.response[0]!);
}

const readCsv = (body: Buffer): string[][] => parseCsv(body.toString('utf8'), { relax_column_count: true }) as string[][];

function readJsonLine(piece: Buffer): unknown {
  const text = piece.toString('utf8');
  expect(text.indexOf('\n')).toBe(text.length - 1);
  return JSON.parse(text);
}

/** Object entries, so that key order counts (both sides get JavaScript's key order). */
const entriesOf = (values: unknown[]) => values.map((v) => Object.entries(v as object));

/** Every check for one list of messages, in the three formats. */
function expectRoundTrip(messages: readonly AmiMessage[]): void {
  const xml = messages.map(expectedXml);
  expect(readXmlDocument(xmlFormat.document(messages))).toEqual(xml);
  expect(messages.map((m) => readXmlLine(xmlFormat.encode(m)))).toEqual(xml);

  const csv = messages.map(expectedCsv);
  expect(readCsv(csvFormat.document(messages))).toEqual(csv);
  for (const [i, m] of messages.entries()) expect(readCsv(csvFormat.encode(m))).toEqual([csv[i]]);

  const json = entriesOf(messages.map(expectedJson));
  expect(entriesOf(JSON.parse(jsonFormat.document(messages).toString('utf8')) as unknown[])).toEqual(json);
  expect(entriesOf(messages.map((m) => readJsonLine(jsonFormat.encode(m))))).toEqual(json);
}

// ---------------------------------------------------------------------------------------------

const h = (name: string, value: string): AmiHeader => [toWire(name), toWire(value)];
const bytes = (...codes: number[]): string => String.fromCharCode(...codes);

/** Messages built to hurt: every awkward value and name the formats must carry. */
const AWKWARD: AmiMessage[] = [
  { headers: [h('Event', 'UserEvent'), h('Data', 'a,b "quoted" \'single\''), h('Xml', '<tag a="1">&amp; ]]> &#13;</tag>')] },
  { headers: [h('Lines', 'one\r\ntwo\nthree\rfour'), h('Cr', '\r'), h('Lf', '\n'), h('Tab', '\tx\t'), h('CrLfEnd', 'x\r\n')] },
  { headers: [h('Ctl', 'a\u0000b\u0001c\u0008\u000b\u000c\u000e\u001f\u007f\u0085d'), h('Nul', '\u0000')] },
  { headers: [h('Utf8', 'é中😀'), h('Invalid', bytes(0xff, 0x41, 0xc3, 0x28, 0xed, 0xa0, 0x80)), h('NonChars', bytes(0xef, 0xbf, 0xbe, 0xef, 0xbf, 0xbf))] },
  { headers: [h('Padded', '  two spaces  '), h('Empty', ''), h('Space', ' '), h('True', 'true'), h('Number', '007')] },
  { headers: [h('Response', 'Success'), ...Array.from({ length: 128 }, (_, i) => h('Output', `line ${i + 1}, with "comma"`))] },
  {
    headers: [
      h('X-Odd.Name', '1'), h('9Lives', '2'), h('', '3'), h('Spaces In Name', '4'), h('Nämé', '5'), h('A<&>"\'B', '6'),
      h('constructor', '7'), h('__proto__', '8'), h('42', '9'), h('Variable', 'a=1'), h('variable', 'b=2'), h('VARIABLE', 'c=3'),
      h('x_odd_name', '10'), h('Ctl\u0001\tName', '11'), h('xmlns', '12'),
    ],
  },
  { headers: [h('A', '1'), h('B', '2'), h('A', '3'), h('C', '4'), h('B', '5')] },
  {
    headers: [h('Response', 'Follows'), h('Privilege', 'Command'), h('ActionID', 'legacy')],
    follows: toWire('Channel              Location\n  indented, "quoted" <x>&\r\n\n\tlast line é\n'),
  },
  { headers: [h('Response', 'Follows'), h('Privilege', 'Command')], follows: '' },
  { headers: [] },
];

describe('round trip through standard parsers', () => {
  it.each(serverCaptureNames())('capture %s: every message, streamed and as one document', (name) => {
    const messages = messagesOf(decodeChunks([serverCapture(name)], { side: 'from-server' }).events);
    expectRoundTrip(messages);
  });

  it('the captures hold messages (the loop above is not vacuous)', () => {
    const total = serverCaptureNames().reduce(
      (n, name) => n + messagesOf(decodeChunks([serverCapture(name)], { side: 'from-server' }).events).length,
      0,
    );
    expect(total).toBeGreaterThan(500);
  });

  it.each(AWKWARD.map((m, i) => [i, m] as const))('awkward message %i', (_, msg) => {
    expectRoundTrip([msg]);
  });

  it('all awkward messages in one document', () => {
    expectRoundTrip(AWKWARD);
  });

  it('an empty answer', () => {
    expectRoundTrip([]);
  });
});

describe('builtinFormats', () => {
  it('registers standard, xml, csv, json and the astmanproxy shapes, looked up case-insensitively', () => {
    const registry = builtinFormats();
    expect(registry.names()).toEqual(['standard', 'xml', 'csv', 'json', 'astmanproxy-xml', 'astmanproxy-csv']);
    expect(registry.get('XML')).toBe(xmlFormat);
    expect(registry.get('csv')).toBe(csvFormat);
    expect(registry.get('Json')).toBe(jsonFormat);
    expect(registry.get('yaml')).toBeUndefined();
  });

  it('rejects a second format of the same name', () => {
    expect(() => builtinFormats().register({ ...jsonFormat, name: 'JSON' })).toThrow(DuplicateFormatError);
  });

  it('gives each format a UTF-8 content type', () => {
    const registry = builtinFormats();
    expect(['xml', 'csv', 'json'].map((n) => registry.get(n)!.contentType)).toEqual([
      'text/xml; charset=utf-8',
      'text/csv; charset=utf-8',
      'application/json; charset=utf-8',
    ]);
  });
});
