/**
 * The xml input format: what astmanproxy's `inputformat = xml` read. An action is a block of
 * lines up to an empty line:
 *
 *     <AsteriskManagerInput>
 *      <Action Value="Ping"/>
 *      <ActionID Value="7"/>
 *     </AsteriskManagerInput>
 *
 * Each child element is one header, in order, repeats kept: its element name is the header name
 * and its `Value` attribute the value (absent: empty); `<Header Name="name" Value="value"/>`
 * (as the astmanproxy-xml output writes headers whose name is not an XML name) names it
 * explicitly. Text is UTF-8, entities decoded, and sent to the PBX as its UTF-8 bytes.
 *
 * Refused, each with a `Response: Error` that names why (the rest of the stream is read on):
 * a block that is not one well-formed `<AsteriskManagerInput>` element, a header name or value
 * that cannot go on the AMI wire (see input-lines.ts), more than 128 headers, a line over
 * 4096 bytes or a block over 128 KiB. An empty line outside a block is ignored.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

import { CLIENT_LIMITS, DECODE_ERROR_TEXT } from '../src/ami/decoder.js';
import { fromWire, toWire, type AmiHeader } from '../src/ami/message.js';
import type { InputSink, StreamInputModule } from '../src/inputs.js';
import { headerProblem, LineReader } from './input-lines.js';

const ROOT = 'AsteriskManagerInput';
const MAX_LINE = 4096;
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, htmlEntities: true, parseAttributeValue: false, trimValues: false });

/** The headers of one block, or why it cannot be read. */
export function parseXmlAction(text: string): { ok: true; headers: AmiHeader[] } | { ok: false; message: string } {
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { ok: false, message: `Malformed XML input: ${valid.err.msg}` };
  const doc = parser.parse(text) as Array<Record<string, unknown>>;
  const roots = doc.filter((node) => !('#text' in node) && !('?xml' in node));
  const root = roots[0];
  if (roots.length !== 1 || root === undefined || !(ROOT in root)) return { ok: false, message: `XML input must be one <${ROOT}> element` };
  const headers: AmiHeader[] = [];
  for (const node of root[ROOT] as Array<Record<string, unknown>>) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (name === undefined || name === '#text') continue;
    const attrs = (node[':@'] ?? {}) as Record<string, string>;
    const headerName = name === 'Header' && attrs['Name'] !== undefined ? attrs['Name'] : name;
    headers.push([toWire(headerName), toWire(attrs['Value'] ?? '')]);
  }
  return { ok: true, headers };
}

class XmlDecoder {
  private block: string[] = [];
  private size = 0;
  private readonly lines: LineReader;

  constructor(private readonly sink: InputSink) {
    this.lines = new LineReader(MAX_LINE, (line) => this.line(line), () => this.fail('LINE_TOO_LONG', DECODE_ERROR_TEXT.LINE_TOO_LONG));
  }

  push(chunk: Buffer): void {
    this.lines.push(chunk);
  }

  private line(line: string): void {
    if (line.trim() !== '') {
      this.size += line.length + 1;
      if (this.size > CLIENT_LIMITS.maxMessageBytes) {
        if (this.block.length > 0) this.fail('MESSAGE_TOO_LARGE', DECODE_ERROR_TEXT.MESSAGE_TOO_LARGE);
        return;
      }
      this.block.push(line);
      return;
    }
    if (this.size > CLIENT_LIMITS.maxMessageBytes) {
      this.size = 0;
      return;
    }
    if (this.block.length === 0) return;
    const text = fromWire(this.block.join('\n'));
    this.block = [];
    this.size = 0;
    const parsed = parseXmlAction(text);
    if (!parsed.ok) return this.sink.error('BAD_XML', parsed.message, []);
    if (parsed.headers.length > CLIENT_LIMITS.maxHeaders) return this.sink.error('TOO_MANY_HEADERS', DECODE_ERROR_TEXT.TOO_MANY_HEADERS, parsed.headers);
    for (const header of parsed.headers) {
      const problem = headerProblem(header);
      if (problem !== undefined) return this.sink.error('BAD_HEADER', problem, parsed.headers);
    }
    this.sink.message({ headers: parsed.headers });
  }

  private fail(code: string, text: string): void {
    this.block = [];
    this.sink.error(code, text, []);
  }
}

export const xmlInput: StreamInputModule = {
  name: 'xml',
  kind: 'stream',
  decoder: (sink) => new XmlDecoder(sink),
};
