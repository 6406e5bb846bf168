/**
 * The decoder on fixtures built here: legacy `Response: Follows` command replies (Asterisk 13
 * and older, not in the captures), explicit limits on both sides, header splitting, framing,
 * the 1 MiB line without a newline, reset and midMessage. Every fixture is also fed byte by
 * byte and split in two at every offset.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { describe, expect, it } from 'vitest';

import {
  AmiDecoder,
  CLIENT_LIMITS,
  DECODE_ERROR_TEXT,
  type DecoderLimits,
  type DecoderOptions,
  SERVER_LIMITS,
} from '../src/ami/decoder.js';
import { encodeMessage } from '../src/ami/encoder.js';
import type { AmiHeader } from '../src/ami/message.js';
import {
  type DecodeEvent,
  type DecodeResult,
  bytes,
  chunksOf,
  decodeChunks,
  messagesOf,
  sameResult,
  splitAt,
} from './helpers/captures.js';

const FROM_SERVER: DecoderOptions = { side: 'from-server', banner: false };
const FROM_CLIENT: DecoderOptions = { side: 'from-client' };

/** V8's gc(), exposed at run time for the memory tests (vitest starts workers without --expose-gc). */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function message(...headers: AmiHeader[]): DecodeEvent {
  return { kind: 'message', message: { headers } };
}

function follows(body: string, ...headers: AmiHeader[]): DecodeEvent {
  return { kind: 'message', message: { headers, follows: body } };
}

function failure(code: keyof typeof DECODE_ERROR_TEXT, ...headers: AmiHeader[]): DecodeEvent {
  return { kind: 'error', code, text: DECODE_ERROR_TEXT[code], headers };
}

/**
 * Decodes `wire` whole and checks that byte by byte and every split in two give the same;
 * returns the whole result.
 */
function decodeEverySplit(wire: Buffer | string, options: DecoderOptions): DecodeResult {
  const buf = typeof wire === 'string' ? bytes(wire) : wire;
  const expected = decodeChunks([buf], options);
  const check = (actual: DecodeResult, where: string): void => {
    if (!sameResult(actual, expected)) expect(actual, where).toEqual(expected);
  };
  check(decodeChunks(chunksOf(buf, 1), options), 'byte by byte');
  for (let k = 0; k <= buf.length; k++) check(decodeChunks(splitAt(buf, k), options), `split at ${k}`);
  return expected;
}

function limits(partial: Partial<DecoderLimits>): Partial<DecoderLimits> {
  return partial;
}

// ---------------------------------------------------------------------------------------------

describe('legacy Response: Follows command replies (Asterisk 13 and older), from-server', () => {
  /** Raw CLI output: colons, blank lines, indentation, a CRLF line, and no newline at the end. */
  const BODY =
    'Channel              Location             State   Application(Data)\n' +
    'Local/100@test-00000001;1 100@test:2      Up      Wait(2)\n' +
    '\n' +
    'Name/username: value with: two colons\n' +
    '   indented: line\n' +
    'Privilege: Command\n' +
    'a CRLF line\r\n' +
    '\n' +
    '1 active channel';
  const REPLY = `Response: Follows\r\nPrivilege: Command\r\nActionID: x\r\n${BODY}--END COMMAND--\r\n\r\n`;
  const PING = 'Response: Success\r\nActionID: y\r\nPing: Pong\r\n\r\n';
  const HEADERS: AmiHeader[] = [
    ['Response', 'Follows'],
    ['Privilege', 'Command'],
    ['ActionID', 'x'],
  ];

  it('reads the raw output up to --END COMMAND-- as one message, then the next message, at every split', () => {
    expect(decodeEverySplit(REPLY + PING, FROM_SERVER)).toEqual({
      events: [follows(BODY, ...HEADERS), message(['Response', 'Success'], ['ActionID', 'y'], ['Ping', 'Pong'])],
      midMessage: false,
    });
  });

  it('re-encodes the reply byte for byte', () => {
    const [reply, ping] = messagesOf(decodeChunks([bytes(REPLY + PING)], FROM_SERVER).events);
    expect(encodeMessage(reply!).toString('latin1')).toBe(REPLY);
    expect(encodeMessage(ping!).toString('latin1')).toBe(PING);
  });

  it('reads it after the banner, with a normal message before it', () => {
    const wire = `Asterisk Call Manager/2.10.6\r\n${PING}${REPLY}${PING}`;
    const result = decodeEverySplit(wire, { side: 'from-server' });
    expect(result.events.map((e) => e.kind)).toEqual(['banner', 'message', 'message', 'message']);
    expect(result.events[2]).toEqual(follows(BODY, ...HEADERS));
  });

  it('keeps a body that ends with a newline before the marker, byte for byte', () => {
    const body = 'No such command \'foo\' (type \'core show help foo\' for other possible commands)\n';
    const wire = `Response: Follows\r\nPrivilege: Command\r\nActionID: e\r\n${body}--END COMMAND--\r\n\r\n`;
    const result = decodeEverySplit(wire + PING, FROM_SERVER);
    expect(result.events[0]).toEqual(follows(body, ['Response', 'Follows'], ['Privilege', 'Command'], ['ActionID', 'e']));
    expect(encodeMessage(messagesOf(result.events)[0]!).toString('latin1')).toBe(wire);
  });

  it('reads an empty body, a body starting with a blank line, and a reply without ActionID', () => {
    const empty = 'Response: Follows\r\nPrivilege: Command\r\n--END COMMAND--\r\n\r\n';
    const blankFirst = 'Response: Follows\r\nPrivilege: Command\r\nActionID: b\r\n\nout\n--END COMMAND--\r\n\r\n';
    const result = decodeEverySplit(empty + blankFirst + PING, FROM_SERVER);
    expect(result.events).toEqual([
      follows('', ['Response', 'Follows'], ['Privilege', 'Command']),
      follows('\nout\n', ['Response', 'Follows'], ['Privilege', 'Command'], ['ActionID', 'b']),
      message(['Response', 'Success'], ['ActionID', 'y'], ['Ping', 'Pong']),
    ]);
    const [e, b] = messagesOf(result.events);
    expect(encodeMessage(e!).toString('latin1')).toBe(empty);
    expect(encodeMessage(b!).toString('latin1')).toBe(blankFirst);
  });

  it('reads the first body line as output even when it has a colon', () => {
    const wire = 'Response: Follows\r\nPrivilege: Command\r\nVerbosity: 3\nDebug: 0\n--END COMMAND--\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_SERVER).events).toEqual([
      follows('Verbosity: 3\nDebug: 0\n', ['Response', 'Follows'], ['Privilege', 'Command']),
    ]);
  });

  it('starts a Follows reply only when Response: Follows is the first header', () => {
    const wire = 'Event: Cmd\r\nResponse: Follows\r\nPrivilege: Command\r\nout: 1\r\n\r\nresponse: follows\r\nX: y\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_SERVER).events).toEqual([
      message(['Event', 'Cmd'], ['Response', 'Follows'], ['Privilege', 'Command'], ['out', '1']),
      message(['response', 'follows'], ['X', 'y']),
    ]);
  });

  it('reads Response: Follows from a client as an ordinary header', () => {
    const wire = 'Response: Follows\r\nPrivilege: Command\r\nsome text\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_CLIENT).events).toEqual([
      message(['Response', 'Follows'], ['Privilege', 'Command']),
    ]);
  });

  it('reports MESSAGE_TOO_LARGE for an oversized body, with the headers, and reads the next message', () => {
    const big = 'line of output\n'.repeat(20);
    const wire = `Response: Follows\r\nPrivilege: Command\r\nActionID: big\r\n${big}--END COMMAND--\r\n\r\n${PING}`;
    expect(decodeEverySplit(wire, { ...FROM_SERVER, limits: limits({ maxMessageBytes: 200 }) }).events).toEqual([
      failure('MESSAGE_TOO_LARGE', ['Response', 'Follows'], ['Privilege', 'Command'], ['ActionID', 'big']),
      message(['Response', 'Success'], ['ActionID', 'y'], ['Ping', 'Pong']),
    ]);
  });

  it('reports LINE_TOO_LONG for an overlong body line and reads the next message', () => {
    const wire = `Response: Follows\r\nPrivilege: Command\r\nActionID: wide\r\nshort\n${'w'.repeat(80)}\nshort\n--END COMMAND--\r\n\r\n${PING}`;
    expect(decodeEverySplit(wire, { ...FROM_SERVER, limits: limits({ maxLineBytes: 64 }) }).events).toEqual([
      failure('LINE_TOO_LONG', ['Response', 'Follows'], ['Privilege', 'Command'], ['ActionID', 'wide']),
      message(['Response', 'Success'], ['ActionID', 'y'], ['Ping', 'Pong']),
    ]);
  });

  // The Privilege/ActionID lines after `Response: Follows` count against maxHeaders like any header.
  it('holds the header lines of a Follows reply to maxHeaders', () => {
    const wire =
      'Response: Follows\r\nPrivilege: Command\r\nActionID: 1\r\nActionID: 2\r\nActionID: 3\r\n' +
      `out\n--END COMMAND--\r\n\r\n${PING}`;
    expect(decodeChunks([bytes(wire)], { ...FROM_SERVER, limits: limits({ maxHeaders: 3 }) }).events).toEqual([
      failure('TOO_MANY_HEADERS', ['Response', 'Follows'], ['Privilege', 'Command'], ['ActionID', '1']),
      message(['Response', 'Success'], ['ActionID', 'y'], ['Ping', 'Pong']),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('header lines', () => {
  it('splits at the first colon only, on both sides', () => {
    const wire = 'Event: Newexten\r\nAppData: TestEvent,Foo: bar\r\nURL: http://h:8088/x\r\n\r\n';
    const expected = [
      message(['Event', 'Newexten'], ['AppData', 'TestEvent,Foo: bar'], ['URL', 'http://h:8088/x']),
    ];
    expect(decodeEverySplit(wire, FROM_SERVER).events).toEqual(expected);
    expect(decodeEverySplit(wire, FROM_CLIENT).events).toEqual(expected);
  });

  it('from a server: drops the one space after the colon and keeps every other byte of the value', () => {
    const wire =
      'Response: Success\r\nOutput:   Username         IP Address\r\nOutput:\r\nOutput: \r\n' +
      'Raw:value\r\nTab:\tvalue\r\nTrailing: value   \r\nTwo:  spaces\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_SERVER).events).toEqual([
      message(
        ['Response', 'Success'],
        ['Output', '  Username         IP Address'],
        ['Output', ''],
        ['Output', ''],
        ['Raw', 'value'],
        ['Tab', '\tvalue'],
        ['Trailing', 'value   '],
        ['Two', ' spaces'],
      ),
    ]);
  });

  it('from a client: strips leading spaces and tabs, keeps trailing spaces, cuts at a NUL', () => {
    const wire = 'Action:Ping\r\nA: \t  x\r\nB: y  \r\nC: z\x00tail\r\nD:\x00\r\nE:\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_CLIENT).events).toEqual([
      message(['Action', 'Ping'], ['A', 'x'], ['B', 'y  '], ['C', 'z'], ['D', ''], ['E', '']),
    ]);
  });

  it('keeps header names exactly (case, spaces) and repeated names in order', () => {
    const wire = 'event: x\r\n Padded : v\r\nVariable: a=1\r\nvariable: b=2\r\nVariable: a=3\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_SERVER).events).toEqual([
      message(['event', 'x'], [' Padded ', 'v'], ['Variable', 'a=1'], ['variable', 'b=2'], ['Variable', 'a=3']),
    ]);
  });

  it('ignores lines without a colon, on both sides', () => {
    const wire = 'garbage\r\nAction: Ping\r\n\xff\xfe\r\nActionID: 1\r\n\r\n';
    const expected = [message(['Action', 'Ping'], ['ActionID', '1'])];
    expect(decodeEverySplit(wire, FROM_CLIENT).events).toEqual(expected);
    expect(decodeEverySplit(wire, FROM_SERVER).events).toEqual(expected);
  });

  it('keeps high bytes and UTF-8 as bytes (one character per byte)', () => {
    const wire = Buffer.concat([bytes('Action: Ping\r\nActionID: '), Buffer.from('é中😀', 'utf8'), bytes('\xff\r\n\r\n')]);
    const [m] = messagesOf(decodeEverySplit(wire, FROM_CLIENT).events);
    expect(Buffer.from(m!.headers[1]![1], 'latin1')).toEqual(Buffer.concat([Buffer.from('é中😀', 'utf8'), bytes('\xff')]));
  });
});

// ---------------------------------------------------------------------------------------------

describe('framing', () => {
  it('accepts CRLF, bare LF and a mix; a bare CR ends no line', () => {
    const wire = 'Action: Ping\nActionID: a\r\n\nAction: Ping\rActionID: b\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_CLIENT).events).toEqual([
      message(['Action', 'Ping'], ['ActionID', 'a']),
      message(['Action', 'Ping\rActionID: b']),
    ]);
  });

  it('from a client: reports each bare blank line, CRLF or LF', () => {
    expect(decodeEverySplit('\r\n\n\r\nAction: Ping\r\n\r\n\n', FROM_CLIENT).events).toEqual([
      { kind: 'blank' },
      { kind: 'blank' },
      { kind: 'blank' },
      message(['Action', 'Ping']),
      { kind: 'blank' },
    ]);
  });

  it('from a server: skips blank lines between messages without reporting them', () => {
    const wire = '\r\n\r\nEvent: A\r\n\r\n\r\n\nEvent: B\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_SERVER).events).toEqual([message(['Event', 'A']), message(['Event', 'B'])]);
  });

  it('reads several messages from one chunk, and a message split anywhere', () => {
    const wire =
      'Response: Success\r\nActionID: 1\r\nPing: Pong\r\n\r\n' +
      'Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n' +
      'Response: Error\r\nActionID: 2\r\nMessage: Permission denied\r\n\r\n';
    expect(decodeEverySplit(wire, FROM_SERVER)).toEqual({
      events: [
        message(['Response', 'Success'], ['ActionID', '1'], ['Ping', 'Pong']),
        message(['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Status', 'Fully Booted']),
        message(['Response', 'Error'], ['ActionID', '2'], ['Message', 'Permission denied']),
      ],
      midMessage: false,
    });
  });

  it('reads every split into three pieces the same', () => {
    const wire = bytes('Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: a\r\n\r\nEvent: X\r\nK: v\r\n\r\n');
    const options: DecoderOptions = { side: 'from-server' };
    const expected = decodeChunks([wire], options);
    expect(expected.events).toHaveLength(3);
    for (let i = 0; i <= wire.length; i++) {
      for (let j = i; j <= wire.length; j++) {
        const actual = decodeChunks(splitAt(wire, i, j), options);
        if (!sameResult(actual, expected)) expect(actual, `split at ${i}, ${j}`).toEqual(expected);
      }
    }
  });

  it('reports the banner once, without its line ending, and reads a header-like second line as a header', () => {
    const wire = 'Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n';
    expect(decodeEverySplit(wire, { side: 'from-server' }).events).toEqual([
      { kind: 'banner', line: 'Asterisk Call Manager/11.0.0' },
      message(['Response', 'Success']),
    ]);
  });

  it('with banner: false, reads the first line as a header', () => {
    expect(decodeEverySplit('Response: Success\r\n\r\n', FROM_SERVER).events).toEqual([message(['Response', 'Success'])]);
  });

  it('holds an unterminated message: midMessage until its blank line, nothing delivered', () => {
    const events: DecodeEvent[] = [];
    const decoder = new AmiDecoder(FROM_CLIENT, {
      message: (m) => events.push({ kind: 'message', message: m }),
      error: () => expect.unreachable(),
    });
    expect(decoder.midMessage).toBe(false);
    decoder.push(bytes('Action: Pi'));
    expect(decoder.midMessage).toBe(true);
    decoder.push(bytes('ng\r\n'));
    expect(decoder.midMessage).toBe(true);
    decoder.push(bytes('\r'));
    expect([decoder.midMessage, events]).toEqual([true, []]);
    decoder.push(bytes('\n'));
    expect([decoder.midMessage, events]).toEqual([false, [message(['Action', 'Ping'])]]);
  });

  it('is midMessage after a too-long line has ended, until the blank line reports it', () => {
    const events: DecodeEvent[] = [];
    const decoder = new AmiDecoder({ ...FROM_CLIENT, limits: { maxLineBytes: 16 } }, {
      message: () => expect.unreachable(),
      error: (code, text, headers) => events.push({ kind: 'error', code, text, headers }),
    });
    decoder.push(bytes(`X: ${'y'.repeat(40)}\r\n`));
    expect([decoder.midMessage, events]).toEqual([true, []]);
    decoder.push(bytes('\r\n'));
    expect([decoder.midMessage, events]).toEqual([false, [failure('LINE_TOO_LONG')]]);
  });

  it('keeps no reference to a pushed chunk: the caller may reuse the buffer', () => {
    const events: DecodeEvent[] = [];
    const decoder = new AmiDecoder(FROM_CLIENT, {
      message: (m) => events.push({ kind: 'message', message: m }),
      error: () => expect.unreachable(),
    });
    const chunk = bytes('Action: Ping\r\nActionID: ab');
    decoder.push(chunk);
    chunk.fill('#');
    decoder.push(bytes('cd\r\n\r\n'));
    expect(events).toEqual([message(['Action', 'Ping'], ['ActionID', 'abcd'])]);
  });

  it('reset() forgets a partial line and a partial message', () => {
    const events: DecodeEvent[] = [];
    const decoder = new AmiDecoder(FROM_CLIENT, {
      message: (m) => events.push({ kind: 'message', message: m }),
      error: (code, text, headers) => events.push({ kind: 'error', code, text, headers }),
    });
    decoder.push(bytes('Action: Login\r\nUsername: adm'));
    decoder.reset();
    expect(decoder.midMessage).toBe(false);
    decoder.push(bytes('Action: Ping\r\n\r\n'));
    decoder.push(bytes('x'.repeat(5000)));
    decoder.reset();
    expect(decoder.midMessage).toBe(false);
    decoder.push(bytes('Action: Ping\r\nActionID: 2\r\n\r\n'));
    expect(events).toEqual([message(['Action', 'Ping']), message(['Action', 'Ping'], ['ActionID', '2'])]);
  });

  // reset() starts a new connection: a from-server decoder expects the banner again.
  it('after reset(), a from-server decoder reports the banner of the next connection', () => {
    const banners: string[] = [];
    const decoder = new AmiDecoder({ side: 'from-server' }, { message: () => {}, banner: (l) => banners.push(l), error: () => {} });
    decoder.push(bytes('Asterisk Call Manager/11.0.0\r\nResponse: Succ'));
    decoder.reset();
    decoder.push(bytes('Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n'));
    expect(banners).toEqual(['Asterisk Call Manager/11.0.0', 'Asterisk Call Manager/11.0.0']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('limits', () => {
  it('defaults to Asterisk\'s limits for clients and wide ones for servers', () => {
    expect(CLIENT_LIMITS).toEqual({ maxLineBytes: 1024, maxHeaders: 128, maxMessageBytes: 128 * 1024 });
    expect(SERVER_LIMITS.maxLineBytes).toBeGreaterThanOrEqual(1024 * 1024);
    expect(Object.isFrozen(CLIENT_LIMITS) && Object.isFrozen(SERVER_LIMITS)).toBe(true);
    expect(DECODE_ERROR_TEXT).toEqual({
      LINE_TOO_LONG: 'Failed to parse message: line too long',
      TOO_MANY_HEADERS: 'Too many lines in message or allocation failure',
      MESSAGE_TOO_LARGE: 'Failed to parse message: message too large',
    });
  });

  describe.each([
    ['from-client', FROM_CLIENT],
    ['from-server', FROM_SERVER],
  ] as const)('%s', (_, side) => {
    const withLimits = (l: Partial<DecoderLimits>): DecoderOptions => ({ ...side, limits: l });

    it('maxLineBytes counts the line ending: a line of exactly the limit passes, one byte more fails', () => {
      // 'ActionID: ' + 20 bytes + CRLF = 32 bytes; + 1 = 33.
      const ok = `Action: Ping\r\nActionID: ${'a'.repeat(20)}\r\n\r\n`;
      const long = `Action: Ping\r\nActionID: ${'b'.repeat(21)}\r\nKey: v\r\n\r\n`;
      const okLf = `Action: Ping\nActionID: ${'c'.repeat(21)}\n\n`;
      const longLf = `Action: Ping\nActionID: ${'d'.repeat(22)}\n\n`;
      const next = 'Action: Ping\r\nActionID: next\r\n\r\n';
      expect(decodeEverySplit(ok + long + okLf + longLf + next, withLimits({ maxLineBytes: 32 })).events).toEqual([
        message(['Action', 'Ping'], ['ActionID', 'a'.repeat(20)]),
        failure('LINE_TOO_LONG', ['Action', 'Ping'], ['Key', 'v']),
        message(['Action', 'Ping'], ['ActionID', 'c'.repeat(21)]),
        failure('LINE_TOO_LONG', ['Action', 'Ping']),
        message(['Action', 'Ping'], ['ActionID', 'next']),
      ]);
    });

    it('maxLineBytes: a line far longer than the limit is dropped as it streams, and reported once', () => {
      const wire = `Action: Ping\r\nX: ${'z'.repeat(5000)}\r\nActionID: 7\r\n\r\nAction: Ping\r\n\r\n`;
      expect(decodeEverySplit(wire, withLimits({ maxLineBytes: 64 })).events).toEqual([
        failure('LINE_TOO_LONG', ['Action', 'Ping'], ['ActionID', '7']),
        message(['Action', 'Ping']),
      ]);
    });

    it('maxLineBytes: a too-long line alone is reported with no headers', () => {
      const wire = `${'q'.repeat(100)}\r\n\r\nAction: Ping\r\n\r\n`;
      expect(decodeEverySplit(wire, withLimits({ maxLineBytes: 64 })).events).toEqual([
        failure('LINE_TOO_LONG'),
        message(['Action', 'Ping']),
      ]);
    });

    it('maxHeaders: exactly the limit passes; one more fails with the headers read so far', () => {
      const four = 'Action: Ping\r\nActionID: 4\r\nA: 1\r\nB: 2\r\n\r\n';
      const five = 'Action: Ping\r\nActionID: 5\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n';
      expect(decodeEverySplit(four + five + four, withLimits({ maxHeaders: 4 })).events).toEqual([
        message(['Action', 'Ping'], ['ActionID', '4'], ['A', '1'], ['B', '2']),
        failure('TOO_MANY_HEADERS', ['Action', 'Ping'], ['ActionID', '5'], ['A', '1'], ['B', '2']),
        message(['Action', 'Ping'], ['ActionID', '4'], ['A', '1'], ['B', '2']),
      ]);
    });

    it('maxMessageBytes counts header lines with their endings: exactly the limit passes, one byte more fails', () => {
      // 14 + 16 + 10 = 40 bytes of lines (the blank line that ends the message is not counted).
      const ok = 'Action: Ping\r\nActionID: 1234\r\nKey: 123\r\n\r\n';
      const big = 'Action: Ping\r\nActionID: 1234\r\nKey: 1234\r\nMore: x\r\n\r\n';
      expect(decodeEverySplit(ok + big + ok, withLimits({ maxMessageBytes: 40 })).events).toEqual([
        message(['Action', 'Ping'], ['ActionID', '1234'], ['Key', '123']),
        failure('MESSAGE_TOO_LARGE', ['Action', 'Ping'], ['ActionID', '1234']),
        message(['Action', 'Ping'], ['ActionID', '1234'], ['Key', '123']),
      ]);
    });

    it('reports only the first limit broken', () => {
      const wire = `Action: Ping\r\nX: ${'y'.repeat(40)}\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\nAction: Ping\r\n\r\n`;
      expect(decodeEverySplit(wire, withLimits({ maxLineBytes: 32, maxHeaders: 2 })).events).toEqual([
        failure('LINE_TOO_LONG', ['Action', 'Ping'], ['A', '1']),
        message(['Action', 'Ping']),
      ]);
    });

    // Whatever failed first, headers stored for the error report never exceed maxMessageBytes.
    it('keeps no more than maxMessageBytes of headers for the error report, even after a LINE_TOO_LONG', () => {
      const headers = Array.from({ length: 50 }, (_, i) => `H${i}: v\r\n`).join('');
      const wire = `Action: Ping\r\nX: ${'y'.repeat(40)}\r\n${headers}\r\n`;
      const { events } = decodeChunks([bytes(wire)], withLimits({ maxLineBytes: 32, maxMessageBytes: 100, maxHeaders: 1000 }));
      expect(events).toHaveLength(1);
      const error = events[0]!;
      expect(error.kind).toBe('error');
      const kept = error.kind === 'error' ? error.headers : [];
      const keptBytes = kept.reduce((sum, [n, v]) => sum + n.length + 2 + v.length + 2, 0);
      expect(keptBytes).toBeLessThanOrEqual(100);
    });
  });

  it('from-client 1024/128 defaults: 1022 content bytes + CRLF pass, 1023 fail; 128 headers pass, 129 fail', () => {
    const line = (n: number): string => `ActionID: ${'i'.repeat(n - 'ActionID: '.length)}\r\n`;
    const headers = (n: number): string =>
      ['Action: Ping', ...Array.from({ length: n - 1 }, (_, i) => `X-H${i}: v`)].join('\r\n') + '\r\n\r\n';
    const wire = `Action: Ping\r\n${line(1022)}\r\nAction: Ping\r\n${line(1023)}\r\n${headers(128)}${headers(129)}Action: Ping\r\n\r\n`;
    const { events } = decodeEverySplit(wire, FROM_CLIENT);
    expect(events.map((e) => (e.kind === 'message' ? e.message.headers.length : e.kind === 'error' ? e.code : e.kind))).toEqual([
      2,
      'LINE_TOO_LONG',
      128,
      'TOO_MANY_HEADERS',
      1,
    ]);
  });

  describe('a 1 MiB line with no newline, from a client', () => {
    const MIB = 1024 * 1024;
    const PING = bytes('Action: Ping\r\nActionID: after-1mib\r\n\r\n');
    const EXPECTED: DecodeEvent[] = [failure('LINE_TOO_LONG'), message(['Action', 'Ping'], ['ActionID', 'after-1mib'])];

    function collect(): { decoder: AmiDecoder; events: DecodeEvent[] } {
      const events: DecodeEvent[] = [];
      const decoder = new AmiDecoder(FROM_CLIENT, {
        message: (m) => events.push({ kind: 'message', message: m }),
        error: (code, text, headers) => events.push({ kind: 'error', code, text, headers }),
        blank: () => events.push({ kind: 'blank' }),
      });
      return { decoder, events };
    }

    it.each([
      ['whole', MIB],
      ['in 4 KiB chunks', 4096],
      ['in 1-byte chunks', 1],
    ])('fed %s: is reported once when its message ends, and the following Ping decodes', (_, size) => {
      const { decoder, events } = collect();
      // One chunk object pushed again and again: the test itself allocates nothing per push.
      const chunk = Buffer.alloc(size, 'x');
      for (let sent = 0; sent < MIB; sent += size) decoder.push(chunk);
      expect(decoder.midMessage).toBe(true);
      expect(events).toEqual([]);
      decoder.push(bytes('\r\n\r\n'));
      decoder.push(PING);
      expect(events).toEqual(EXPECTED);
      expect(decoder.midMessage).toBe(false);
    });

    /** Memory in use after a full garbage collection, so garbage left by other tests does not count. */
    function memoryAfterGc(): NodeJS.MemoryUsage {
      collectGarbage();
      return process.memoryUsage();
    }

    it('does not grow memory: 64 MiB without a newline in 4 KiB chunks retain almost nothing', () => {
      const { decoder, events } = collect();
      const chunk = Buffer.alloc(4096, 'x');
      decoder.push(chunk);
      const before = memoryAfterGc();
      for (let sent = 0; sent < 64 * MIB; sent += chunk.length) decoder.push(chunk);
      const after = memoryAfterGc();
      // A decoder that kept the bytes would hold 64 MiB of them.
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(MIB);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(4 * MIB);
      decoder.push(bytes('\n\r\n'));
      decoder.push(PING);
      expect(events).toEqual(EXPECTED);
    });

    it('does not grow memory: 1 MiB without a newline in 1-byte chunks retain almost nothing', () => {
      const { decoder, events } = collect();
      const chunk = bytes('x');
      for (let i = 0; i < 2048; i++) decoder.push(chunk);
      const before = memoryAfterGc();
      for (let sent = 0; sent < MIB; sent++) decoder.push(chunk);
      const after = memoryAfterGc();
      // A decoder that kept each byte as a Buffer would hold a million of them (~100 MB of heap).
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(MIB);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(4 * MIB);
      decoder.push(bytes('\r\n\r\n'));
      decoder.push(PING);
      expect(events).toEqual(EXPECTED);
    });
  });
});
