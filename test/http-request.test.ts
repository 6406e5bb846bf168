/**
 * The http input format (formats/http.ts): an HTTP request as the AMI action it stands for, and
 * the output format of its answer. Pure: no sockets.
 */
import { describe, expect, it } from 'vitest';
import {
  chooseFormat,
  decodeComponent,
  formatFromAccept,
  parseActionRequest,
  parseEventsQuery,
  parseForm,
  routeOf,
  type FormatInfo,
  type HttpAction,
} from '../formats/http.js';

const FORMATS: FormatInfo[] = [
  { name: 'standard', contentType: 'text/plain; charset=utf-8' },
  { name: 'xml', contentType: 'text/xml; charset=utf-8' },
  { name: 'csv', contentType: 'text/csv; charset=utf-8' },
  { name: 'json', contentType: 'application/json; charset=utf-8' },
];

function parse(path: string, query: string, extra: { body?: string; accept?: string } = {}) {
  return parseActionRequest({ path, query, ...extra }, FORMATS);
}

function ok(result: ReturnType<typeof parse>): HttpAction {
  if (!result.ok) throw new Error(`refused: ${result.status} ${result.message}`);
  return result;
}

describe('parameters become headers', () => {
  it('the click-to-call Originate: three Variable parameters are three Variable headers, in order', () => {
    const q =
      'Action=Originate&Channel=PJSIP%2F201&Context=from-internal&Exten=0039021234567&Priority=1&Async=true' +
      '&Variable=C2C_SRC=201&Variable=C2C_DST=0039021234567&Variable=__TENANT_UUID=5f0c6f2e-1b7a-4c1e-9d1e-2a3b4c5d6e7f&ActionID=c2c-1';
    const r = ok(parse('/rawman', q));
    expect(r.action.headers).toEqual([
      ['Action', 'Originate'],
      ['Channel', 'PJSIP/201'],
      ['Context', 'from-internal'],
      ['Exten', '0039021234567'],
      ['Priority', '1'],
      ['Async', 'true'],
      ['Variable', 'C2C_SRC=201'],
      ['Variable', 'C2C_DST=0039021234567'],
      ['Variable', '__TENANT_UUID=5f0c6f2e-1b7a-4c1e-9d1e-2a3b4c5d6e7f'],
      ['ActionID', 'c2c-1'],
    ]);
    expect(r.name).toBe('Originate');
    expect(r.actionId).toBe('c2c-1');
    expect(r.format).toBe('standard');
  });

  it('names keep their case; the first Action names the action; query first, then the POST body', () => {
    const r = ok(parse('/action', 'action=ping&ActionID=a', { body: 'foo=1&FOO=2&Action=Other' }));
    expect(r.action.headers).toEqual([['action', 'ping'], ['ActionID', 'a'], ['foo', '1'], ['FOO', '2'], ['Action', 'Other']]);
    expect(r.name).toBe('ping');
  });

  it('percent-decoding gives bytes: UTF-8 stays its bytes, a lone high byte stays one byte, + is a space', () => {
    const r = ok(parse('/action', 'Action=UserEvent&UserEvent=x&A=caf%C3%A9&B=%E9&C=a+b%2Bc&D=50%25&E=%zz&F='));
    const h = Object.fromEntries(r.action.headers.slice(2));
    expect(h.A).toBe(Buffer.from('café', 'utf8').toString('latin1'));
    expect(h.B).toBe('\xe9');
    expect(h.C).toBe('a b+c');
    expect(h.D).toBe('50%');
    expect(h.E).toBe('%zz');
    expect(h.F).toBe('');
  });

  it('a value may hold "=", ":" and spaces', () => {
    const r = ok(parse('/action', 'Action=Setvar&Value=a%3A%20b=c'));
    expect(r.action.headers[1]).toEqual(['Value', 'a: b=c']);
  });

  it('format and timeout (lower case) are amiplex\'s own and not forwarded; Timeout is AMI\'s', () => {
    const r = ok(parse('/action', 'Action=Originate&format=json&timeout=12.5&Timeout=30000'));
    expect(r.action.headers).toEqual([['Action', 'Originate'], ['Timeout', '30000']]);
    expect(r.format).toBe('json');
    expect(r.timeout).toBe(12.5);
  });

  it('timeout= is capped at 300 s', () => {
    expect(ok(parse('/action', 'Action=Ping&timeout=1000')).timeout).toBe(300);
  });
});

describe('refusals', () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['no Action', '/rawman', 'ActionID=x', /Missing action/],
    ['an empty Action', '/rawman', 'Action=&ActionID=x', /Missing action/],
    ['a CR in a value', '/rawman', 'Action=Ping&X=a%0D%0AAction:%20Hangup', /CR, LF or NUL/],
    ['a LF in a value', '/rawman', 'Action=Ping&X=a%0Ab', /CR, LF or NUL/],
    ['a NUL in a value', '/rawman', 'Action=Ping&X=a%00b', /CR, LF or NUL/],
    ['a colon in a name', '/rawman', 'Action=Ping&X%3AY=1', /not a header name/],
    ['a space in a name', '/rawman', 'Action=Ping&X+Y=1', /not a header name/],
    ['an empty name', '/rawman', 'Action=Ping&=1', /empty name/],
    ['a bad timeout', '/rawman', 'Action=Ping&timeout=soon', /timeout= must be/],
    ['a zero timeout', '/rawman', 'Action=Ping&timeout=0', /timeout= must be/],
    ['timeout twice', '/rawman', 'Action=Ping&timeout=1&timeout=2', /more than once/],
    ['an unknown format', '/action', 'Action=Ping&format=yaml', /Unknown format: yaml/],
    ['a format contradicting the path', '/mxml', 'Action=Ping&format=json', /contradicts/],
    ['a line over 1024 bytes', '/rawman', `Action=Ping&X=${'a'.repeat(1020)}`, /line too long/],
    ['more than 128 headers', '/rawman', `Action=Ping${'&X=1'.repeat(128)}`, /Too many lines/],
  ];
  for (const [what, path, query, message] of cases) {
    it(`400 for ${what}`, () => {
      const r = parse(path, query);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.status).toBe(400);
      expect(r.message).toMatch(message);
    });
  }

  it('a refusal carries the ActionID and the format the request asked for', () => {
    const r = parse('/json', 'ActionID=mine');
    expect(r).toMatchObject({ ok: false, status: 400, actionId: 'mine', format: 'json' });
  });

  it('a line of exactly 1024 bytes is accepted', () => {
    // "X: " + value + CRLF = 1024
    expect(parse('/action', `Action=Ping&X=${'a'.repeat(1019)}`).ok).toBe(true);
  });
});

describe('paths and formats', () => {
  it('Asterisk\'s paths, with or without the /asterisk prefix', () => {
    expect(routeOf('/rawman')).toEqual({ kind: 'action', format: 'standard' });
    expect(routeOf('/asterisk/mxml')).toEqual({ kind: 'action', format: 'xml' });
    expect(routeOf('/json/')).toEqual({ kind: 'action', format: 'json' });
    expect(routeOf('/csv')).toEqual({ kind: 'action', format: 'csv' });
    expect(routeOf('/action')).toEqual({ kind: 'action' });
    expect(routeOf('/asterisk/')).toEqual({ kind: 'action' });
    expect(routeOf('/events')).toEqual({ kind: 'events' });
    expect(routeOf('/manager')).toBeUndefined();
    expect(routeOf('/rawmanx')).toBeUndefined();
    expect(routeOf('/asterisk')).toEqual({ kind: 'action' });
  });

  it('/ is the status page, /status.json its data, /static/NAME its files; a /static/ name that is a path is unknown', () => {
    expect(routeOf('/')).toEqual({ kind: 'page' });
    expect(routeOf('/status.json')).toEqual({ kind: 'status' });
    expect(routeOf('/static/status.js')).toEqual({ kind: 'asset', name: 'status.js' });
    expect(routeOf('/static/status.js.map')).toEqual({ kind: 'asset', name: 'status.js.map' });
    for (const bad of ['/static/', '/static/../package.json', '/static/..', '/static/a/b.js', '/static/%2e%2e/x.js', '/static/.hidden.js', '/static/x.js%00.css', '/static/x\\y.js', '/static/noext']) {
      expect(routeOf(bad), bad).toBeUndefined();
    }
  });

  it('the Accept header: the known type with the highest q; wildcards and nothing known mean standard', () => {
    expect(formatFromAccept('application/json', FORMATS)).toBe('json');
    expect(formatFromAccept('text/csv;q=0.5, application/json;q=0.9', FORMATS)).toBe('json');
    expect(formatFromAccept('application/xml', FORMATS)).toBe('xml');
    expect(formatFromAccept('*/*', FORMATS)).toBe('standard');
    expect(formatFromAccept('image/png', FORMATS)).toBe('standard');
    expect(formatFromAccept('application/json;q=0, text/csv', FORMATS)).toBe('csv');
    expect(formatFromAccept(undefined, FORMATS)).toBe('standard');
  });

  it('on a generic path format= wins over Accept; on a fixed path the path decides', () => {
    expect(chooseFormat({ kind: 'action' }, 'csv', 'application/json', FORMATS)).toEqual({ ok: true, format: 'csv' });
    expect(chooseFormat({ kind: 'action' }, undefined, 'application/json', FORMATS)).toEqual({ ok: true, format: 'json' });
    expect(chooseFormat({ kind: 'action', format: 'xml' }, undefined, 'application/json', FORMATS)).toEqual({ ok: true, format: 'xml' });
    expect(chooseFormat({ kind: 'action', format: 'xml' }, 'XML', undefined, FORMATS)).toEqual({ ok: true, format: 'xml' });
  });
});

describe('form decoding and the /events query', () => {
  it('empty pieces are skipped; a name without = has an empty value', () => {
    expect(parseForm('a=1&&b&c=')).toEqual([['a', '1'], ['b', ''], ['c', '']]);
    expect(decodeComponent('%41%4')).toBe('A%4');
  });

  it('event= and server= repeat or list; unknown parameters are refused', () => {
    const q = parseEventsQuery('event=Newchannel&event=Hangup,VarSet&server=pbx1');
    expect(q).toEqual({ ok: true, events: new Set(['newchannel', 'hangup', 'varset']), servers: ['pbx1'] });
    expect(parseEventsQuery('evnt=Hangup')).toMatchObject({ ok: false });
    expect(parseEventsQuery('lastEventId=7')).toMatchObject({ ok: true, lastEventId: '7' });
  });
});
