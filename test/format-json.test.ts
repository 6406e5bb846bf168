/**
 * The json format: one object per message, names as keys in message order, repeated names as
 * arrays; newline-delimited on a TCP stream, an array as a document; read back by JSON.parse.
 */
import { describe, expect, it } from 'vitest';

import { type AmiHeader, type AmiMessage, toWire } from '../src/ami/message.js';
import { jsonFormat } from '../formats/json.js';

const h = (name: string, value: string): AmiHeader => [toWire(name), toWire(value)];
const msg = (...headers: AmiHeader[]): AmiMessage => ({ headers });
const line = (m: AmiMessage): string => jsonFormat.encode(m).toString('utf8');

describe('json format', () => {
  it('writes one object per line, names as keys with their case, in order', () => {
    const m = msg(h('Event', 'Newchannel'), h('Privilege', 'call,all'), h('Uniqueid', '1700000000.1'));
    expect(line(m)).toBe('{"Event":"Newchannel","Privilege":"call,all","Uniqueid":"1700000000.1"}\n');
    expect(jsonFormat.contentType).toBe('application/json; charset=utf-8');
  });

  it('makes a repeated name an array of its values in order, at the place of its first occurrence', () => {
    const m = msg(h('Response', 'Success'), ...Array.from({ length: 128 }, (_, i) => h('Output', `line ${i + 1}`)), h('ActionID', 'x'));
    const parsed = JSON.parse(line(m)) as { Response: string; Output: string[]; ActionID: string };
    expect(Object.keys(parsed)).toEqual(['Response', 'Output', 'ActionID']);
    expect(parsed.Output).toHaveLength(128);
    expect(parsed.Output[127]).toBe('line 128');
  });

  it('groups exact names only, and loses the interleaving of repeated names (documented)', () => {
    const m = msg(h('A', '1'), h('B', '2'), h('A', '3'), h('a', '4'));
    expect(line(m)).toBe('{"A":["1","3"],"B":"2","a":"4"}\n');
  });

  it('writes integer-like keys in message order (JavaScript objects would move them first)', () => {
    const m = msg(h('Zed', '1'), h('42', '2'), h('__proto__', '3'), h('', '4'));
    expect(line(m)).toBe('{"Zed":"1","42":"2","__proto__":"3","":"4"}\n');
    expect(Object.entries(JSON.parse(line(m)) as object)).toEqual([['42', '2'], ['Zed', '1'], ['__proto__', '3'], ['', '4']]);
  });

  it('keeps every character, escaped by JSON.stringify: quotes, CR, LF, TAB, NUL, spaces, UTF-8', () => {
    const value = ' "q" \\ \r\n\r\t\u0000\u001f\u007f é中😀 ';
    const m = msg(h('Value', value), h('Empty', ''));
    expect(line(m).indexOf('\n')).toBe(line(m).length - 1);
    expect(JSON.parse(line(m))).toEqual({ Value: value, Empty: '' });
  });

  it('turns bytes that are not UTF-8 into U+FFFD, in names and values', () => {
    const m: AmiMessage = { headers: [['N\xe9', 'a\xffb\xc3']] };
    expect(JSON.parse(line(m))).toEqual({ 'N\ufffd': 'a\ufffdb\ufffd' });
  });

  it('groups names equal as text even when their bytes differ (both invalid UTF-8)', () => {
    const m: AmiMessage = { headers: [['X\xff', '1'], ['X\xfe', '2']] };
    expect(line(m)).toBe('{"X\ufffd":["1","2"]}\n');
  });

  it('carries a legacy Response: Follows body as the last key, ":follows"', () => {
    const body = 'Channel   Location\n  "x"\r\n\n';
    const m: AmiMessage = { headers: [h('Response', 'Follows'), h('Privilege', 'Command')], follows: toWire(body) };
    expect(JSON.parse(line(m))).toEqual({ Response: 'Follows', Privilege: 'Command', ':follows': body });
    expect(Object.keys(JSON.parse(line(m)) as object).at(-1)).toBe(':follows');
  });

  it('makes a document a JSON array, one object per line', () => {
    const a = msg(h('Response', 'Success'));
    const b = msg(h('Event', 'Done'));
    expect(jsonFormat.document([a, b, msg()]).toString()).toBe('[\n{"Response":"Success"},\n{"Event":"Done"},\n{}\n]\n');
    expect(jsonFormat.document([]).toString()).toBe('[]\n');
  });

  it('gives TCP clients a banner object', () => {
    expect(jsonFormat.banner!('11.0.0').toString()).toBe('{"banner":"Asterisk Call Manager","version":"11.0.0"}\n');
  });
});
