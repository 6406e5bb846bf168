/**
 * The csv format: one record per message, fields alternating name and value, RFC 4180 quoting
 * by csv-stringify, CRLF record ends; read back losslessly by csv-parse.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import { type AmiHeader, type AmiMessage, toWire } from '../src/ami/message.js';
import { csvFormat } from '../formats/csv.js';

const h = (name: string, value: string): AmiHeader => [toWire(name), toWire(value)];
const msg = (...headers: AmiHeader[]): AmiMessage => ({ headers });
const text = (m: AmiMessage): string => csvFormat.encode(m).toString('utf8');
const read = (csv: string): string[][] => parse(csv, { relax_column_count: true }) as string[][];

describe('csv format', () => {
  it('writes one record per message, name and value alternating, CRLF at the end', () => {
    const m = msg(h('Event', 'Newchannel'), h('Privilege', 'call,all'), h('Channel', 'PJSIP/201-00000001'));
    expect(text(m)).toBe('Event,Newchannel,Privilege,"call,all",Channel,PJSIP/201-00000001\r\n');
    expect(csvFormat.contentType).toBe('text/csv; charset=utf-8');
  });

  it('quotes commas, double quotes, CR and LF — a lone CR or LF too — and nothing else', () => {
    const m = msg(h('Q', 'say "hi"'), h('Cr', '\r'), h('Lf', '\n'), h('CrLf', 'a\r\nb'), h('Tab', '\tx'), h('Lt', '<&>'), h('Pad', ' p '));
    expect(text(m)).toBe('Q,"say ""hi""",Cr,"\r",Lf,"\n",CrLf,"a\r\nb",Tab,\tx,Lt,<&>,Pad, p \r\n');
    expect(read(text(m))).toEqual([['Q', 'say "hi"', 'Cr', '\r', 'Lf', '\n', 'CrLf', 'a\r\nb', 'Tab', '\tx', 'Lt', '<&>', 'Pad', ' p ']]);
  });

  it('keeps repeated headers, empty values, odd names and control characters, in order', () => {
    const m = msg(
      h('Response', 'Success'),
      ...Array.from({ length: 128 }, (_, i) => h('Output', `line ${i + 1}`)),
      h('Empty', ''),
      h('', 'no name'),
      h('A,"B"\tC', 'odd name'),
      h('Ctl', '\u0000\u0001\u001f\u007f'),
    );
    const [record] = read(text(m));
    expect(record).toHaveLength(2 * 133);
    expect(record!.slice(0, 6)).toEqual(['Response', 'Success', 'Output', 'line 1', 'Output', 'line 2']);
    expect(record!.slice(-8)).toEqual(['Empty', '', '', 'no name', 'A,"B"\tC', 'odd name', 'Ctl', '\u0000\u0001\u001f\u007f']);
  });

  it('writes UTF-8; bytes that are not UTF-8 become U+FFFD', () => {
    const m: AmiMessage = { headers: [h('Name', 'é中'), ['Bad', 'a\xffb']] };
    expect(csvFormat.encode(m)).toEqual(Buffer.from('Name,é中,Bad,a\ufffdb\r\n', 'utf8'));
  });

  it('carries a legacy Response: Follows body as a last pair named :follows', () => {
    const body = 'Channel   Location\n"x", y\r\n\n';
    const m: AmiMessage = { headers: [h('Response', 'Follows'), h('Privilege', 'Command')], follows: toWire(body) };
    expect(read(text(m))).toEqual([['Response', 'Follows', 'Privilege', 'Command', ':follows', body]]);
  });

  it('writes a message without headers as an empty line', () => {
    expect(text(msg())).toBe('\r\n');
    expect(read(text(msg()))).toEqual([['']]);
  });

  it('makes a document of the records of its messages, without a header row', () => {
    const a = msg(h('Response', 'Success'), h('ActionID', '1'));
    const b = msg(h('Event', 'Complete'), h('ActionID', '1'));
    expect(csvFormat.document([a, b]).toString()).toBe(text(a) + text(b));
    expect(csvFormat.document([]).toString()).toBe('');
  });

  it('gives TCP clients a banner record', () => {
    expect(csvFormat.banner!('11.0.0').toString()).toBe('banner,Asterisk Call Manager,version,11.0.0\r\n');
  });
});
