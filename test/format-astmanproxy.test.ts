/**
 * astmanproxy's XML and CSV output shapes, byte for byte against what astmanproxy 1.30 wrote
 * (test/fixtures/astmanproxy-captures/), except where amiplex is meant to differ: every header
 * named (no UnparsedText), a `"` inside a CSV field doubled.
 */
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';

import { toWire, type AmiHeader, type AmiMessage } from '../src/ami/message.js';
import { proxyMessage } from '../src/ami/origin.js';
import { astmanproxyCsvFormat } from '../formats/astmanproxy-csv.js';
import { astmanproxyXmlFormat } from '../formats/astmanproxy-xml.js';
import { builtinFormats } from '../src/formats.js';
import { formatFromAccept } from '../formats/http.js';

const CAPTURES = new URL('./fixtures/astmanproxy-captures/', import.meta.url);
const h = (name: string, value: string): AmiHeader => [toWire(name), toWire(value)];
const msg = (...headers: AmiHeader[]): AmiMessage => ({ headers });
const xml = (m: AmiMessage) => astmanproxyXmlFormat.encode(m).toString('utf8');
const csv = (m: AmiMessage) => astmanproxyCsvFormat.encode(m).toString('utf8');

/** The body of a captured HTTP answer (after the blank line ending its headers). */
function capturedBody(file: string): string {
  const text = readFileSync(new URL(file, CAPTURES), 'latin1');
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

/** What came back after one `>>>` block of the raw transcript, exactly (CRLF line ends). */
function transcriptAnswer(after: string): string {
  const text = readFileSync(new URL('raw-proxyactions.transcript.txt', CAPTURES), 'latin1');
  const at = text.indexOf(after);
  const start = text.indexOf('<<<\n', at) + 4;
  const end = text.indexOf('>>>', start);
  return text.slice(start, end < 0 ? undefined : end);
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', htmlEntities: true, isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute });

describe('astmanproxy-xml format', () => {
  it("writes a PBX's answer exactly as astmanproxy did", () => {
    const ping = msg(h('Response', 'Success'), h('ActionID', '12345'), h('Ping', 'Pong'), h('Timestamp', '1796509897.710720'), h('Server', '127.0.0.1'));
    expect(xml(ping)).toBe(capturedBody('http-xml-ping.txt'));
    expect(astmanproxyXmlFormat.contentType).toBe('text/xml');
  });

  it("writes amiplex's own messages as AsteriskManagerProxyOutput", () => {
    const answer = proxyMessage(msg(h('ProxyResponse', 'Success'), h('OutputFormat', 'xml')));
    expect(xml(answer)).toBe(transcriptAnswer('OutputFormat: xml'));
  });

  it('names every header, escapes < > & " and keeps each element a well-formed document', () => {
    const m = msg(
      h('Response', 'Error'),
      h('Message', 'Invalid/unknown command: Bogus. Use Action: ListCommands to show available commands.'),
      h('BridgeDestroy', 'Destroy a bridge.  (Priv: <none>)'),
      h('Q', 'say "hi" & <go>'),
      h('Channel(1)', 'odd name'),
      h('xmlns', 'reserved'),
      h('Ctl', 'a\tb\u0001'),
    );
    const text = xml(m);
    expect(text).toContain(' <Message Value="Invalid/unknown command: Bogus. Use Action: ListCommands to show available commands."/>\r\n');
    expect(text).toContain(' <BridgeDestroy Value="Destroy a bridge.  (Priv: &lt;none&gt;)"/>\r\n');
    expect(text).toContain(' <Q Value="say &quot;hi&quot; &amp; &lt;go&gt;"/>\r\n');
    expect(text).toContain(' <Header Name="Channel(1)" Value="odd name"/>\r\n');
    expect(text).toContain(' <Header Name="xmlns" Value="reserved"/>\r\n');
    expect(text).not.toContain('UnparsedText');
    const doc = parser.parse(text) as { AsteriskManagerOutput: Array<Record<string, Array<Record<string, string>>>> };
    const root = doc.AsteriskManagerOutput[0]!;
    expect(root['Q']![0]!['@_Value']).toBe('say "hi" & <go>');
    expect(root['Ctl']![0]!['@_Value']).toBe('a\tb\ufffd');
    expect(root['Header']!.map((e) => [e['@_Name'], e['@_Value']])).toEqual([['Channel(1)', 'odd name'], ['xmlns', 'reserved']]);
  });

  it('writes a whole answer as its elements one after another; a legacy body as Output lines', () => {
    const body = astmanproxyXmlFormat.document([msg(h('Response', 'Follows')), { headers: [['Response', 'Follows']], follows: 'line 1\nline 2\n' }]).toString();
    expect(body.split('<AsteriskManagerOutput>').length - 1).toBe(2);
    expect(body).toContain(' <Output Value="line 1"/>\r\n <Output Value="line 2"/>\r\n');
  });
});

describe('astmanproxy-csv format', () => {
  it('writes each header line quoted whole, joined by ", ", then an empty line, as astmanproxy did', () => {
    expect(csv(proxyMessage(msg(h('ProxyResponse', 'Success'), h('OutputFormat', 'csv'))))).toBe(transcriptAnswer('OutputFormat: csv'));
    const ping = msg(h('Response', 'Success'), h('ActionID', 'p1'), h('Ping', 'Pong'), h('Timestamp', '1796510529.978'), h('Server', '127.0.0.1'));
    expect(csv(ping)).toBe(transcriptAnswer('ActionID: p1'));
  });

  it('doubles a double quote inside a field, where astmanproxy left it as it was', () => {
    expect(csv(msg(h('Message', 'say "hi"'), h('A', 'b, c')))).toBe('"Message: say ""hi""", "A: b, c"\r\n\r\n');
  });
});

describe('registry', () => {
  it('registers both; text/xml in an Accept header still means the xml format', () => {
    const registry = builtinFormats();
    expect(registry.get('astmanproxy-xml')).toBe(astmanproxyXmlFormat);
    expect(registry.get('ASTMANPROXY-CSV')).toBe(astmanproxyCsvFormat);
    const infos = registry.names().map((n) => registry.get(n)!);
    expect(formatFromAccept('text/xml', infos)).toBe('xml');
    expect(formatFromAccept('text/plain', infos)).toBe('standard');
  });
});
