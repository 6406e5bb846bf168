/**
 * Raw passthrough: a message decoded from a server keeps its exact bytes (joined when it came in
 * several chunks; the eager reading keeps them only for a message in one chunk), and the
 * encoder writes those bytes instead of encoding the headers again. Any change drops them,
 * except appending a header, which keeps exact bytes by inserting it before the final blank line.
 */
import { describe, expect, it } from 'vitest';
import { AmiDecoder } from '../src/ami/decoder.js';
import { encodeMessage, encodeText } from '../src/ami/encoder.js';
import { appendHeader, withHeader, withoutHeaders, type AmiMessage } from '../src/ami/message.js';
import { serverCapture, serverCaptureNames } from './helpers/captures.js';

function decode(chunks: Buffer[], lazy = true): AmiMessage[] {
  const out: AmiMessage[] = [];
  const d = new AmiDecoder({ side: 'from-server', lazy }, { message: (m) => out.push(m), error: () => {} });
  for (const c of chunks) d.push(c);
  return out;
}

const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('raw bytes of messages from a server', () => {
  it('are, for every capture fed whole, exactly the bytes of each message, and concatenated give back the file', () => {
    for (const name of serverCaptureNames()) {
      const file = serverCapture(name);
      const messages = decode([file]);
      const rebuilt = Buffer.concat(messages.map((m) => m.raw ?? Buffer.alloc(0)));
      const bannerEnd = file.indexOf('\n') + 1;
      // Between messages Asterisk sends nothing but (once, in capture 04) an extra blank line.
      const body = file.subarray(bannerEnd).toString('latin1').replace('channel.\n\r\n\r\n', 'channel.\n\r\n');
      expect(rebuilt.toString('latin1'), name).toBe(body);
      for (const m of messages) expect(m.raw, name).toBeDefined();
    }
  });

  it('are kept, joined, for a message that spans chunks (odd bytes included); the eager reading rebuilds it from its headers', () => {
    const wire = 'Asterisk Call Manager/11.0.0\r\nEvent: A\r\nX: 1\r\n\r\nEvent: B\r\nno colon\r\nY:2\r\n\r\n';
    const cuts = [wire.indexOf('colon'), wire.indexOf('Y:') + 1];
    const chunks = [bytes(wire.slice(0, cuts[0])), bytes(wire.slice(cuts[0], cuts[1])), bytes(wire.slice(cuts[1]))];
    const [a, b] = decode(chunks);
    expect(a!.raw?.toString('latin1')).toBe('Event: A\r\nX: 1\r\n\r\n');
    expect(b!.raw?.toString('latin1')).toBe('Event: B\r\nno colon\r\nY:2\r\n\r\n');
    expect(b!.headers).toEqual([['Event', 'B'], ['Y', '2']]);
    const [, eager] = decode(chunks, false);
    expect(eager!.raw).toBeUndefined();
    expect(encodeMessage(eager!).toString('latin1')).toBe('Event: B\r\nY: 2\r\n\r\n');
  });

  it('are written as they came, odd spacing included, by the encoder', () => {
    const [m] = decode([bytes('Asterisk Call Manager/11.0.0\r\nEvent: A\r\nOdd:value\r\n\r\n')]);
    expect(encodeMessage(m!).toString('latin1')).toBe('Event: A\r\nOdd:value\r\n\r\n');
    expect(encodeText(m!)).toBe('Event: A\r\nOdd: value\r\n\r\n');
  });

  it('are dropped by every change but an appended header, which keeps exact bytes', () => {
    const [m] = decode([bytes('Asterisk Call Manager/11.0.0\r\nEvent: A\r\nActionID: 1\r\nOdd:value\r\n\r\n')]);
    expect(withHeader(m!, 'ActionID', '2').raw).toBeUndefined();
    expect(withoutHeaders(m!, 'Odd').raw).toBeUndefined();
    const tagged = appendHeader(m!, 'Server', 'pbx1');
    expect(encodeMessage(tagged).toString('latin1')).toBe('Event: A\r\nActionID: 1\r\nOdd:value\r\nServer: pbx1\r\n\r\n');
    expect(tagged.headers.at(-1)).toEqual(['Server', 'pbx1']);
  });

  it('are not kept by an appended header when they do not end with CRLF CRLF', () => {
    const [m] = decode([bytes('Asterisk Call Manager/11.0.0\r\nEvent: A\nX: 1\n\n')]);
    const tagged = appendHeader(m!, 'Server', 'pbx1');
    expect(tagged.raw).toBeUndefined();
    expect(encodeMessage(tagged).toString('latin1')).toBe('Event: A\r\nX: 1\r\nServer: pbx1\r\n\r\n');
  });

  it('are never kept from a client', () => {
    const out: AmiMessage[] = [];
    new AmiDecoder({ side: 'from-client' }, { message: (m) => out.push(m), error: () => {} }).push(bytes('Action: Ping\r\n\r\n'));
    expect(out[0]!.raw).toBeUndefined();
  });
});
