/**
 * The json input format: one JSON object per line, one action each — the shape the json output
 * format writes:
 *
 *     {"Action":"Originate","Channel":"PJSIP/201","Variable":["A=1","B=2"],"ActionID":"7"}
 *
 * Each key is a header name, in order; a string (or number, or boolean) is its value, an array
 * of them is the header repeated, in order. Text is UTF-8, sent to the PBX as its UTF-8 bytes.
 * Empty lines are ignored.
 *
 * Refused, each with a `Response: Error` that names why (the next line is read on): a line that
 * is not a JSON object, a value that is an object or null, a header name or value that cannot
 * go on the AMI wire (see input-lines.ts), more than 128 headers, a line over 128 KiB.
 */
import { CLIENT_LIMITS, DECODE_ERROR_TEXT } from '../src/ami/decoder.js';
import { fromWire, toWire, type AmiHeader } from '../src/ami/message.js';
import type { InputSink, StreamInputModule } from '../src/inputs.js';
import { headerProblem, LineReader } from './input-lines.js';

/** The headers of one line, or why it cannot be read. */
export function parseJsonAction(line: string): { ok: true; headers: AmiHeader[] } | { ok: false; message: string; headers: AmiHeader[] } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, message: `Malformed JSON input: ${(err as Error).message}`, headers: [] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'JSON input must be one object per line', headers: [] };
  const headers: AmiHeader[] = [];
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        return { ok: false, message: `JSON input: the value of ${name} must be a string or an array of strings`, headers };
      }
      headers.push([toWire(name), toWire(String(item))]);
    }
  }
  return { ok: true, headers };
}

class JsonDecoder {
  private readonly lines: LineReader;

  constructor(private readonly sink: InputSink) {
    this.lines = new LineReader(CLIENT_LIMITS.maxMessageBytes, (line) => this.line(line), () => this.sink.error('LINE_TOO_LONG', DECODE_ERROR_TEXT.MESSAGE_TOO_LARGE, []));
  }

  push(chunk: Buffer): void {
    this.lines.push(chunk);
  }

  private line(line: string): void {
    if (line.trim() === '') return;
    const parsed = parseJsonAction(fromWire(line));
    if (!parsed.ok) return this.sink.error('BAD_JSON', parsed.message, parsed.headers);
    if (parsed.headers.length > CLIENT_LIMITS.maxHeaders) return this.sink.error('TOO_MANY_HEADERS', DECODE_ERROR_TEXT.TOO_MANY_HEADERS, parsed.headers);
    for (const header of parsed.headers) {
      const problem = headerProblem(header);
      if (problem !== undefined) return this.sink.error('BAD_HEADER', problem, parsed.headers);
    }
    this.sink.message({ headers: parsed.headers });
  }
}

export const jsonInput: StreamInputModule = {
  name: 'json',
  kind: 'stream',
  decoder: (sink) => new JsonDecoder(sink),
};
