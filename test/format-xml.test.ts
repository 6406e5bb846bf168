/**
 * The xml format: Asterisk's AJAM `/mxml` structure (checked against Asterisk's own answers in
 * the HTTP captures), its attribute-name mapping and numbering, and the escaping that keeps every
 * value — CR, LF, TAB and spaces included — through a standard parser, never producing invalid XML.
 */
import { readFileSync } from 'node:fs';

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';

import { type AmiHeader, type AmiMessage, toWire } from '../src/ami/message.js';
import { xmlFormat } from '../formats/xml.js';
import { CAPTURES_DIR, decodeChunks, messagesOf } from './helpers/captures.js';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true,
  isArray: (name, _path, _leaf, isAttribute) => !isAttribute && name === 'response',
});

type Generic = Record<string, string>;

/** The `<generic>` elements of a document, in order. */
function generics(xml: string): Generic[] {
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = parser.parse(xml) as { 'ajax-response': { response?: Array<{ generic: Generic | '' }> } };
  return (doc['ajax-response'].response ?? []).map((r) => (r.generic === '' ? {} : r.generic));
}

const h = (name: string, value: string): AmiHeader => [toWire(name), toWire(value)];
const msg = (...headers: AmiHeader[]): AmiMessage => ({ headers });
const line = (m: AmiMessage): string => xmlFormat.encode(m).toString('utf8');
const attributesOf = (m: AmiMessage): Generic => generics(xmlFormat.document([m]).toString('utf8'))[0]!;

/** Body of an HTTP capture, and the messages of a /rawman body. */
function httpBody(file: string): Buffer {
  const raw = readFileSync(`${CAPTURES_DIR}http/${file}`);
  return raw.subarray(raw.indexOf('\r\n\r\n') + 4);
}

describe('xml format: Asterisk /mxml compatibility', () => {
  it.each([
    ['05-rawman-coresettings.txt', '06-mxml-coresettings.txt'],
    ['10-rawman-coreshowchannels.txt', '11-mxml-coreshowchannels.txt'],
  ])('%s as xml reads like Asterisk\'s own %s', (rawman, mxml) => {
    const messages = messagesOf(decodeChunks([httpBody(rawman)], { side: 'from-server', banner: false }).events);
    expect(messages.length).toBeGreaterThan(0);
    const ours = generics(xmlFormat.document(messages).toString('utf8'));
    const asterisk = generics(httpBody(mxml).toString('utf8'));
    expect(ours.map((g) => Object.entries(g))).toEqual(asterisk.map((g) => Object.entries(g)));
  });

  it('writes the documented structure, one element per line', () => {
    const doc = xmlFormat.document([msg(h('Response', 'Success'), h('Ping', 'Pong')), msg(h('Event', 'X'))]).toString('utf8');
    expect(doc).toBe(
      '<ajax-response>\n' +
        '<response type="object" id="unknown"><generic response="Success" ping="Pong"/></response>\n' +
        '<response type="object" id="unknown"><generic event="X"/></response>\n' +
        '</ajax-response>\n',
    );
    expect(xmlFormat.document([]).toString()).toBe('<ajax-response>\n</ajax-response>\n');
  });

  it('streams each message as its <response> element and a line feed', () => {
    const m = msg(h('Event', 'Hangup'), h('Cause-txt', 'Normal Clearing'));
    expect(line(m)).toBe('<response type="object" id="unknown"><generic event="Hangup" cause_txt="Normal Clearing"/></response>\n');
    expect(xmlFormat.document([m]).toString()).toBe(`<ajax-response>\n${line(m)}</ajax-response>\n`);
  });

  it('gives TCP clients a small well-formed banner element', () => {
    const banner = xmlFormat.banner!('11.0.0').toString('utf8');
    expect(banner).toBe('<banner name="Asterisk Call Manager" version="11.0.0"/>\n');
    const odd = xmlFormat.banner!('1 "<&>"\u0001').toString('utf8');
    expect(XMLValidator.validate(odd)).toBe(true);
    expect((parser.parse(odd) as { banner: Generic }).banner.version).toBe('1 "<&>"\ufffd');
  });
});

describe('xml format: attribute names', () => {
  it('numbers repeated names as Asterisk does: output, output-2, output-3, …', () => {
    const m = msg(h('Response', 'Success'), ...Array.from({ length: 128 }, (_, i) => h('Output', `line ${i + 1}`)));
    const attributes = Object.entries(attributesOf(m));
    expect(attributes).toHaveLength(129);
    expect(attributes.slice(0, 4)).toEqual([['response', 'Success'], ['output', 'line 1'], ['output-2', 'line 2'], ['output-3', 'line 3']]);
    expect(attributes[128]).toEqual(['output-128', 'line 128']);
  });

  it('lower-cases, maps every byte but ASCII letters and digits to _, guards a leading digit and xmlns, numbers collisions', () => {
    const m = msg(
      h('ActionID', '1'), h('X-Odd.Name', '2'), h('x_odd_name', '3'), h('9Lives', '4'), h('', '5'), h('Nämé', '6'),
      h('A<&>"\' B', '7'), h('Variable', '8'), h('VARIABLE', '9'), h('Ctl\u0000\tName', '10'), h('XmlNS', '11'),
    );
    expect(Object.entries(attributesOf(m))).toEqual([
      ['actionid', '1'], ['x_odd_name', '2'], ['x_odd_name-2', '3'], ['_9lives', '4'], ['_', '5'], ['n__m__', '6'],
      ['a______b', '7'], ['variable', '8'], ['variable-2', '9'], ['ctl__name', '10'], ['_xmlns', '11'],
    ]);
  });
});

describe('xml format: values', () => {
  it('escapes markup characters and keeps quotes, spaces, empty values and "true"', () => {
    const m = msg(h('Data', `<a href="x">&amp; 'q' ]]></a>`), h('Padded', '  two  '), h('Empty', ''), h('Flag', 'true'));
    expect(attributesOf(m)).toEqual({ data: `<a href="x">&amp; 'q' ]]></a>`, padded: '  two  ', empty: '', flag: 'true' });
    expect(line(m)).toContain(' empty="" flag="true"');
  });

  it('writes CR, LF and TAB as character references: kept by parsers, never a raw line break', () => {
    const m = msg(h('Lines', 'a\r\nb\nc\rd'), h('Tab', '\tx\t'), h('Cr', '\r'));
    const text = line(m);
    expect(text).toContain('lines="a&#13;&#10;b&#10;c&#13;d" tab="&#9;x&#9;" cr="&#13;"');
    expect(text.slice(0, -1)).not.toMatch(/[\r\n\t]/);
    expect(attributesOf(m)).toEqual({ lines: 'a\r\nb\nc\rd', tab: '\tx\t', cr: '\r' });
  });

  it('replaces characters XML 1.0 cannot carry by U+FFFD, keeps the rest', () => {
    const m: AmiMessage = {
      headers: [
        h('Ctl', 'a\u0000b\u0001\u0008\u000b\u000c\u000e\u001fc'),
        h('Kept', '\u007f\u0085é中😀'),
        ['NonChars', '\xef\xbf\xbe|\xef\xbf\xbf'],
        ['Invalid', '\xff|\xed\xa0\x80'], // not UTF-8; an encoded surrogate
      ],
    };
    const text = line(m);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/);
    expect(attributesOf(m)).toEqual({
      ctl: 'a\ufffdb\ufffd\ufffd\ufffd\ufffd\ufffd\ufffdc',
      kept: '\u007f\u0085é中😀',
      nonchars: '\ufffd|\ufffd',
      invalid: '\ufffd|\ufffd\ufffd\ufffd',
    });
  });

  it('writes UTF-8', () => {
    expect(xmlFormat.encode(msg(h('Name', 'é'))).includes(Buffer.from('name="é"', 'utf8'))).toBe(true);
    expect(xmlFormat.contentType).toBe('text/xml; charset=utf-8');
  });

  it('carries a legacy Response: Follows body as the text of <generic>', () => {
    const body = 'Channel   Location\n  "x" <y> & z\r\n\n\tend\n';
    const m: AmiMessage = { headers: [h('Response', 'Follows'), h('Privilege', 'Command')], follows: toWire(body) };
    const text = line(m);
    expect(text.indexOf('\n')).toBe(text.length - 1);
    expect(attributesOf(m)).toEqual({ response: 'Follows', privilege: 'Command', '#text': body });
  });
});
