/**
 * The message model: header look-ups, copy-on-write edits, classification, the byte-string
 * conversions; and the encoder that writes a message as Asterisk does.
 */
import { describe, expect, it } from 'vitest';

import { encodeBanner, encodeMessage, encodeText, END_COMMAND_MARKER } from '../src/ami/encoder.js';
import {
  type AmiMessage,
  amiMessage,
  appendHeader,
  fromWire,
  getHeader,
  getHeaders,
  headerIndex,
  messageKind,
  sameText,
  toWire,
  withHeader,
  withoutHeaders,
} from '../src/ami/message.js';
import { decodeChunks, messagesOf } from './helpers/captures.js';

const EVENT = amiMessage(
  ['Event', 'VarSet'],
  ['Privilege', 'dialplan,all'],
  ['Variable', 'A'],
  ['variable', 'B'],
  ['VARIABLE', 'C'],
  ['Uniqueid', '1795449966.1'],
);

/** A deep snapshot, to prove an edit left its input untouched. */
const snapshot = (m: AmiMessage): unknown => JSON.parse(JSON.stringify(m));

describe('header look-ups', () => {
  it('amiMessage keeps the headers in the order given', () => {
    expect(amiMessage(['B', '2'], ['A', '1'], ['B', '3']).headers).toEqual([
      ['B', '2'],
      ['A', '1'],
      ['B', '3'],
    ]);
  });

  it('headerIndex and getHeader find the first header, case-insensitively', () => {
    expect(headerIndex(EVENT, 'variable')).toBe(2);
    expect(headerIndex(EVENT, 'UNIQUEID')).toBe(5);
    expect(getHeader(EVENT, 'VARIABLE')).toBe('A');
    expect(getHeader(EVENT, 'event')).toBe('VarSet');
  });

  it('headerIndex and getHeader report an absent header as -1 / undefined', () => {
    expect(headerIndex(EVENT, 'ActionID')).toBe(-1);
    expect(getHeader(EVENT, 'ActionID')).toBeUndefined();
    expect(getHeader(amiMessage(), 'Event')).toBeUndefined();
  });

  it('a name must match whole: no prefix, no padding', () => {
    const m = amiMessage([' Action', 'Ping'], ['ActionIDX', '1'], ['Action ', 'x']);
    expect(getHeader(m, 'Action')).toBeUndefined();
    expect(getHeader(m, 'ActionID')).toBeUndefined();
    expect(getHeader(m, ' action')).toBe('Ping');
  });

  it('returns an empty value as the empty string, not undefined', () => {
    expect(getHeader(amiMessage(['Action', '']), 'Action')).toBe('');
  });

  it('getHeaders returns every value of a name, case-insensitively, in order', () => {
    expect(getHeaders(EVENT, 'Variable')).toEqual(['A', 'B', 'C']);
    expect(getHeaders(EVENT, 'Missing')).toEqual([]);
  });

  it('sameText compares case-insensitively and treats undefined as different', () => {
    expect(sameText('Success', 'success')).toBe(true);
    expect(sameText('EventList', 'eventlist')).toBe(true);
    expect(sameText('Success', 'Succes')).toBe(false);
    expect(sameText(undefined, '')).toBe(false);
    expect(sameText('', '')).toBe(true);
  });
});

describe('messageKind', () => {
  it('classifies by the first header: Event, Response, Action', () => {
    expect(messageKind(EVENT)).toBe('event');
    expect(messageKind(amiMessage(['Response', 'Success'], ['ActionID', '1']))).toBe('response');
    expect(messageKind(amiMessage(['Action', 'Ping']))).toBe('action');
  });

  it('classifies OriginateResponse as an event although it carries Response: and ActionID:', () => {
    const originate = amiMessage(
      ['Event', 'OriginateResponse'],
      ['Privilege', 'call,all'],
      ['ActionID', 'orig-1'],
      ['Response', 'Failure'],
      ['Reason', '5'],
    );
    expect(messageKind(originate)).toBe('event');
  });

  it('lets the first header win over a later one, and ignores case', () => {
    expect(messageKind(amiMessage(['Response', 'Success'], ['Event', 'X']))).toBe('response');
    expect(messageKind(amiMessage(['event', 'X'], ['Response', 'Success']))).toBe('event');
    expect(messageKind(amiMessage(['ACTION', 'Ping']))).toBe('action');
  });

  it('falls back to a later Event, Response or Action header (in that order), else other', () => {
    expect(messageKind(amiMessage(['ActionID', '1'], ['Response', 'Success'], ['Event', 'X']))).toBe('event');
    expect(messageKind(amiMessage(['ActionID', '1'], ['Action', 'Ping'], ['Response', 'Success']))).toBe('response');
    expect(messageKind(amiMessage(['ActionID', 'm1'], ['Action', 'Ping']))).toBe('action');
    expect(messageKind(amiMessage(['ActionID', 'm1']))).toBe('other');
    expect(messageKind(amiMessage([' Action', 'Ping']))).toBe('other');
    expect(messageKind(amiMessage())).toBe('other');
  });

  it('classifies a decoded OriginateResponse from the wire as an event', () => {
    const wire = Buffer.from(
      'Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: o\r\nResponse: Success\r\n\r\n',
      'latin1',
    );
    const [m] = messagesOf(decodeChunks([wire], { side: 'from-server', banner: false }).events);
    expect(messageKind(m!)).toBe('event');
  });
});

describe('copy-on-write edits', () => {
  it('withHeader replaces the first match in place, keeping its position and the name as written', () => {
    const before = snapshot(EVENT);
    const edited = withHeader(EVENT, 'VARIABLE', 'Z');
    expect(edited.headers).toEqual([
      ['Event', 'VarSet'],
      ['Privilege', 'dialplan,all'],
      ['Variable', 'Z'],
      ['variable', 'B'],
      ['VARIABLE', 'C'],
      ['Uniqueid', '1795449966.1'],
    ]);
    expect(snapshot(EVENT)).toEqual(before);
    expect(edited).not.toBe(EVENT);
  });

  it('withHeader appends the header at the end when absent', () => {
    const edited = withHeader(amiMessage(['Action', 'Ping']), 'ActionID', 'amiplex-1');
    expect(edited.headers).toEqual([
      ['Action', 'Ping'],
      ['ActionID', 'amiplex-1'],
    ]);
  });

  it('withHeader(…, undefined) removes only the first match', () => {
    const before = snapshot(EVENT);
    expect(withHeader(EVENT, 'variable', undefined).headers).toEqual([
      ['Event', 'VarSet'],
      ['Privilege', 'dialplan,all'],
      ['variable', 'B'],
      ['VARIABLE', 'C'],
      ['Uniqueid', '1795449966.1'],
    ]);
    expect(snapshot(EVENT)).toEqual(before);
  });

  it('withHeader(…, undefined) on an absent header returns the same message', () => {
    expect(withHeader(EVENT, 'ActionID', undefined)).toBe(EVENT);
  });

  it('withoutHeaders removes every match, case-insensitively, and leaves the input untouched', () => {
    const before = snapshot(EVENT);
    expect(withoutHeaders(EVENT, 'variable').headers).toEqual([
      ['Event', 'VarSet'],
      ['Privilege', 'dialplan,all'],
      ['Uniqueid', '1795449966.1'],
    ]);
    expect(snapshot(EVENT)).toEqual(before);
  });

  it('withoutHeaders returns the same message when there is nothing to remove', () => {
    expect(withoutHeaders(EVENT, 'ActionID')).toBe(EVENT);
  });

  it('appendHeader appends even when the name exists', () => {
    const edited = appendHeader(EVENT, 'Variable', 'D');
    expect(getHeaders(edited, 'variable')).toEqual(['A', 'B', 'C', 'D']);
    expect(edited.headers.at(-1)).toEqual(['Variable', 'D']);
    expect(EVENT.headers).toHaveLength(6);
  });

  it('every edit keeps a legacy Follows body', () => {
    const reply: AmiMessage = { headers: [['Response', 'Follows'], ['Privilege', 'Command'], ['ActionID', 'x']], follows: 'out\n' };
    expect(withHeader(reply, 'ActionID', 'y').follows).toBe('out\n');
    expect(withHeader(reply, 'ActionID', undefined).follows).toBe('out\n');
    expect(withHeader(reply, 'Server', 'pbx1').follows).toBe('out\n');
    expect(withoutHeaders(reply, 'privilege').follows).toBe('out\n');
    expect(appendHeader(reply, 'X', '1').follows).toBe('out\n');
  });

  it('an edit of a message without a body adds no follows property', () => {
    const m = amiMessage(['Action', 'Ping']);
    expect('follows' in withHeader(m, 'ActionID', '1')).toBe(false);
    expect('follows' in withoutHeaders(appendHeader(m, 'X', '1'), 'x')).toBe(false);
  });
});

describe('byte strings: toWire / fromWire', () => {
  it('leaves pure ASCII unchanged, both ways', () => {
    const ascii = 'Action: Ping \t\x00\x7f';
    expect(toWire(ascii)).toBe(ascii);
    expect(fromWire(ascii)).toBe(ascii);
  });

  it('toWire gives one character per UTF-8 byte', () => {
    expect(toWire('é')).toBe('\xc3\xa9');
    expect(toWire('m11-é中')).toBe('m11-\xc3\xa9\xe4\xb8\xad');
    expect(Buffer.from(toWire('😀'), 'latin1')).toEqual(Buffer.from('😀', 'utf8'));
  });

  it.each(['é', 'Zoë Müller', '中文 CallerID', '😀 emoji', 'mixed ascii + ümlaut + 中 + 🎉', '\u00ff\u0100'])(
    'round-trips %j through toWire then fromWire',
    (text) => {
      expect(fromWire(toWire(text))).toBe(text);
    },
  );

  it('fromWire decodes what the decoder read as UTF-8 (capture 11a ActionID)', () => {
    expect(fromWire('m11-\xc3\xa9\xe4\xb8\xad')).toBe('m11-é中');
  });

  it('a toWire value is written as its UTF-8 bytes and decoded back unchanged', () => {
    const text = 'Zoë 中 😀';
    const wire = encodeMessage(amiMessage(['Event', 'UserEvent'], ['Name', toWire(text)]));
    expect(wire).toEqual(Buffer.concat([Buffer.from('Event: UserEvent\r\nName: ', 'latin1'), Buffer.from(text, 'utf8'), Buffer.from('\r\n\r\n', 'latin1')]));
    const [m] = messagesOf(decodeChunks([wire], { side: 'from-server', banner: false }).events);
    expect(fromWire(getHeader(m!, 'Name')!)).toBe(text);
  });
});

describe('encoder', () => {
  it('writes each header as "Name: value" CRLF, then a blank CRLF line', () => {
    expect(encodeText(amiMessage(['Response', 'Success'], ['ActionID', '1'], ['Ping', 'Pong']))).toBe(
      'Response: Success\r\nActionID: 1\r\nPing: Pong\r\n\r\n',
    );
  });

  it('keeps order, case, repeats and empty values', () => {
    expect(encodeText(amiMessage(['event', 'x'], ['Variable', 'a=1'], ['Variable', 'b=2'], ['Empty', '']))).toBe(
      'event: x\r\nVariable: a=1\r\nVariable: b=2\r\nEmpty: \r\n\r\n',
    );
  });

  it('writes a Follows body raw, then the marker, then the blank line', () => {
    expect(END_COMMAND_MARKER).toBe('--END COMMAND--');
    const reply: AmiMessage = { headers: [['Response', 'Follows'], ['Privilege', 'Command']], follows: 'a: b\n\nlast' };
    expect(encodeText(reply)).toBe('Response: Follows\r\nPrivilege: Command\r\na: b\n\nlast--END COMMAND--\r\n\r\n');
    expect(encodeText({ headers: [['Response', 'Follows']], follows: '' })).toBe('Response: Follows\r\n--END COMMAND--\r\n\r\n');
  });

  it('encodeMessage writes one byte per character (latin1), so high bytes survive', () => {
    const wire = encodeMessage(amiMessage(['ActionID', '\xff\xfe\x00']));
    expect([...wire]).toEqual([...Buffer.from('ActionID: ', 'latin1'), 0xff, 0xfe, 0x00, 13, 10, 13, 10]);
  });

  it('encodeBanner writes the banner line and nothing after it', () => {
    expect(encodeBanner('11.0.0').toString('latin1')).toBe('Asterisk Call Manager/11.0.0\r\n');
  });
});
