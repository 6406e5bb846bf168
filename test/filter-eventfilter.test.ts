/**
 * Asterisk 22's eventfilter semantics (src/filters/event-filter.ts): parsing, every method,
 * legacy `!`, include/exclude evaluation, Asterisk's own test tables (main/manager.c
 * eventfilter_test_creation / eventfilter_test_matching), the examples of Asterisk's "AMI Event
 * Filtering" page, and events taken from the captures of a real Asterisk 22.
 */
import { describe, expect, it } from 'vitest';

import { encodeText } from '../src/ami/encoder.js';
import { eventClassBits } from '../src/ami/event-classes.js';
import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { Outbound } from '../src/clients/shared/outbound.js';
import { EventFilterSet, parseEventFilter, type EventFilterRule } from '../src/filters/event-filter.js';
import type { EventView } from '../src/filters/event-view.js';
import { compilePosixRegex } from '../src/filters/posix-regex.js';
import { captureEvents } from './helpers/captures.js';

/** An event from `Name: value` lines, as the hub hands it to filters. */
function ev(...lines: string[]): Outbound {
  const headers: AmiHeader[] = lines.map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).replace(/^ /, '')];
  });
  const message: AmiMessage = { headers };
  return new Outbound(message, 'pbx1', eventClassBits(message));
}

function rule(criteria: string | undefined, expression: string): EventFilterRule {
  const r = parseEventFilter(criteria, expression);
  if (!r.ok) throw new Error(`filter refused: ${r.reason}`);
  return r.rule;
}

function set(...filters: [string | undefined, string][]): EventFilterSet {
  const s = new EventFilterSet();
  for (const [c, e] of filters) s.add(rule(c, e));
  return s;
}

/** Asterisk's criteria string (`eventfilter` or `eventfilter(…)`) as parseEventFilter takes it. */
function criteriaOf(asterisk: string): string | undefined {
  return asterisk === 'eventfilter' ? undefined : asterisk.slice('eventfilter('.length, -1);
}

const NEWCHANNEL = ev('Event: Newchannel', 'Channel: XXX', 'Someheader: YYY');
const VARSET = ev('Event: VarSet', 'Channel: ABC', 'Someheader: XXX');

describe('parsing, as manager_add_filter (Asterisk’s eventfilter_test_creation table)', () => {
  const valid: Array<[string, string, Partial<EventFilterRule>, EventView, boolean]> = [
    ['eventfilter', 'XXX', { method: 'regex', exclude: false, eventName: undefined, header: undefined }, NEWCHANNEL, true],
    ['eventfilter', '!XXX', { method: 'regex', exclude: true }, VARSET, false],
    ['eventfilter(name(VarSet),method(none))', '', { method: 'none', eventName: 'VarSet', exclude: false }, VARSET, true],
    ['eventfilter(name(Newchannel),method(regex))', 'X[XYZ]X', { method: 'regex', eventName: 'Newchannel' }, NEWCHANNEL, true],
    ['eventfilter(name(Newchannel),method(regex))', 'X[abc]X', { method: 'regex', eventName: 'Newchannel' }, NEWCHANNEL, false],
    ['eventfilter(action(exclude),name(Newchannel),method(regex))', 'X[XYZ]X', { exclude: true }, NEWCHANNEL, false],
    ['eventfilter(action(exclude),name(Newchannel),method(regex))', 'X[abc]X', { exclude: true }, NEWCHANNEL, true],
    ['eventfilter(action(include),name(VarSet),header(Channel),method(starts_with))', 'AB', { method: 'starts_with', header: 'Channel' }, VARSET, true],
    ['eventfilter(action(include),name(VarSet),header(Channel),method(ends_with))', 'BC', { method: 'ends_with', header: 'Channel' }, VARSET, true],
    ['eventfilter(action(include),name(VarSet),header(Channel),method(exact))', 'ABC', { method: 'exact' }, VARSET, true],
    ['eventfilter(action(include),name(VarSet),header(Channel),method(exact))', 'XXX', { method: 'exact' }, VARSET, false],
    ['eventfilter(name(VarSet),header(Channel),method(exact))', '!ZZZ', { method: 'exact', exclude: true, pattern: 'ZZZ' }, VARSET, true],
    ['eventfilter(action(exclude),name(VarSet),header(Channel),method(exact))', 'ZZZ', { exclude: true }, VARSET, true],
    ['eventfilter(action(include),name(VarSet),header(Someheader),method(exact))', '!XXX', { exclude: false, pattern: 'XXX' }, VARSET, true],
  ];
  for (const [criteria, expression, fields, event, sent] of valid) {
    it(`${criteria} = ${expression}: ${sent ? 'sends' : 'holds back'} ${event.name}`, () => {
      const r = rule(criteriaOf(criteria), expression);
      expect(r).toMatchObject(fields);
      const s = new EventFilterSet();
      s.add(r);
      expect(s.admits(event)).toBe(sent);
    });
  }

  const invalid: Array<[string, string, 'format' | 'compile']> = [
    ['eventfilter(action(include)', '', 'format'],
    ['eventfilter(action(inlude)', '', 'format'],
    ['eventfilter(nnnn(yyy)', 'XXX', 'format'],
    ['eventfilter(eader(VarSet)', 'XXX', 'format'],
    ['eventfilter(ethod(contains)', 'XXX', 'format'],
    ['eventfilter(nnnn(yyy),header(VarSet),method(contains)', 'XXX', 'format'],
    ['eventfilter(name(yyy),heder(VarSet),method(contains)', 'XXX', 'format'],
    ['eventfilter(name(yyy),header(VarSet),mehod(contains)', 'XXX', 'format'],
    ['eventfilter(name(yyy),header(VarSet),method(coains)', 'XXX', 'format'],
    ['eventfilter(method(yyy))', 'XXX', 'format'],
    ['eventfilter', '', 'format'],
    ['eventfilter', '!', 'format'],
    ['eventfilter()', 'XXX', 'format'],
    ['eventfilter', 'XX[X', 'compile'],
    ['eventfilter(method(regex))', 'XX[X', 'compile'],
  ];
  for (const [criteria, expression, error] of invalid) {
    it(`${criteria} = ${expression}: refused (${error})`, () => {
      const r = parseEventFilter(criteriaOf(criteria), expression);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBe(error);
        expect(r.reason).not.toBe('');
      }
    });
  }
});

describe('parsing details', () => {
  it('defaults: legacy is regex, structured is none; a structured expression needs a method', () => {
    expect(rule(undefined, 'x').method).toBe('regex');
    expect(rule('name(Hangup)', '').method).toBe('none');
    const r = parseEventFilter('name(Hangup)', 'x');
    expect(r).toMatchObject({ ok: false, error: 'format' });
    expect(!r.ok && r.reason).toMatch(/method is none/);
  });

  it('an empty expression needs method none', () => {
    expect(parseEventFilter('name(Hangup),method(exact)', '')).toMatchObject({ ok: false, error: 'format', reason: 'method exact needs an expression after "="' });
  });

  it('without name() or header() an expression is needed', () => {
    expect(parseEventFilter('action(exclude)', '')).toMatchObject({ ok: false, error: 'format' });
    expect(rule('action(exclude),method(contains)', 'Local/')).toMatchObject({ exclude: true, method: 'contains' });
  });

  it('option names, action values and methods are case-sensitive', () => {
    expect(parseEventFilter('Name(Hangup)', '')).toMatchObject({ ok: false, error: 'format' });
    expect(parseEventFilter('name(Hangup),action(Exclude)', '')).toMatchObject({ ok: false, error: 'format' });
    expect(parseEventFilter('header(Channel),method(Exact)', 'x')).toMatchObject({ ok: false, error: 'format' });
    expect(parseEventFilter('header(Channel),method(startsWith)', 'x')).toMatchObject({ ok: false, error: 'format' });
  });

  it('options are split at blanks, commas and ")", in any order; the last repeat wins', () => {
    const r = rule(' method(exact) header(Channel),,name(Hangup) ', 'PJSIP/1');
    expect(r).toMatchObject({ method: 'exact', header: 'Channel', eventName: 'Hangup' });
    expect(rule('name(Hangup),name(Newchannel)', '').eventName).toBe('Newchannel');
    // A blank inside the parentheses splits the option: "Foo Bar" is two pieces, "Bar" unknown.
    expect(parseEventFilter('name(Foo Bar)', '')).toMatchObject({ ok: false, error: 'format' });
  });

  it('an option is recognised by its start, as Asterisk compares only the first letters', () => {
    expect(rule('actions(exclude),names(Hangup)', '')).toMatchObject({ exclude: true, eventName: 'Hangup' });
  });

  it('header(Name:) and header(Name) are the same', () => {
    expect(rule('header(Channel:),method(exact)', 'x').header).toBe('Channel');
  });

  it('"!" excludes in both forms, action() overrides it, and it is never part of the expression', () => {
    expect(rule(undefined, '!Channel: DAHDI/')).toMatchObject({ exclude: true, pattern: 'Channel: DAHDI/' });
    expect(rule('header(Channel),method(starts_with)', '!DAHDI/')).toMatchObject({ exclude: true, pattern: 'DAHDI/' });
    expect(rule('action(include),header(Channel),method(starts_with)', '!DAHDI/')).toMatchObject({ exclude: false, pattern: 'DAHDI/' });
    expect(rule('action(exclude),header(Channel),method(starts_with)', 'DAHDI/')).toMatchObject({ exclude: true });
  });

  it('reasons name what is wrong', () => {
    expect(parseEventFilter('method(regexp),header(Channel)', 'x')).toMatchObject({
      reason: "'method' option 'regexp' is unknown: expected one of regex, exact, starts_with, ends_with, contains, none (case matters)",
    });
    expect(parseEventFilter('bogus(1)', 'x')).toMatchObject({ reason: expect.stringContaining("filter option 'bogus(1)' is unknown") });
    expect(parseEventFilter(undefined, 'a(b')).toMatchObject({ error: 'compile', reason: expect.stringContaining('does not compile') });
  });
});

describe('matching one filter', () => {
  const e = ev('Event: Newchannel', 'Privilege: call,all', 'Channel: PJSIP/1001-0000000a', 'ChannelState: 0', 'Exten: 100', 'Uniqueid: 1.1');

  it('name() is the exact, case-sensitive event name', () => {
    expect(rule('name(Newchannel)', '').matches(e)).toBe(true);
    expect(rule('name(NewChannel)', '').matches(e)).toBe(false);
    expect(rule('name(Newchan)', '').matches(e)).toBe(false);
  });

  it('every method, on a header value', () => {
    const cases: Array<[string, string, boolean]> = [
      ['exact', 'PJSIP/1001-0000000a', true],
      ['exact', 'PJSIP/1001', false],
      ['starts_with', 'PJSIP/1001', true],
      ['starts_with', 'SIP/', false],
      ['ends_with', '0000000a', true],
      ['ends_with', '0000000A', false],
      ['contains', '/1001-', true],
      ['contains', '1002', false],
      ['regex', '^PJSIP/10[0-9]+-', true],
      ['regex', 'pjsip', false],
    ];
    for (const [method, pattern, expected] of cases) {
      expect(rule(`header(Channel),method(${method})`, pattern).matches(e), `${method} ${pattern}`).toBe(expected);
    }
    expect(rule('header(Channel),method(none)', '').matches(e)).toBe(true);
    expect(rule('header(Linkedid),method(none)', '').matches(e)).toBe(false);
  });

  it('every method, on the whole event text (Header: value lines, CRLF, the blank line at the end)', () => {
    expect(e.text()).toBe('Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1001-0000000a\r\nChannelState: 0\r\nExten: 100\r\nUniqueid: 1.1\r\n\r\n');
    expect(rule('method(starts_with)', 'Event: Newchannel\r\n').matches(e)).toBe(true);
    expect(rule('method(ends_with)', 'Uniqueid: 1.1\r\n\r\n').matches(e)).toBe(true);
    expect(rule('method(ends_with)', 'Uniqueid: 1.1').matches(e)).toBe(false);
    expect(rule('method(contains)', '\r\nExten: 100\r\n').matches(e)).toBe(true);
    expect(rule('method(exact)', e.text()).matches(e)).toBe(true);
    expect(rule('method(regex)', 'Exten: 1.0').matches(e)).toBe(true);
  });

  it('header(): name case-sensitive, whole name (Channel is not ChannelState), value after the blanks', () => {
    expect(rule('header(channel),method(contains)', '1001').matches(e)).toBe(false);
    expect(rule('header(ChannelState),method(exact)', '0').matches(e)).toBe(true);
    expect(rule('header(Channel),method(exact)', '0').matches(e)).toBe(false);
    const padded = ev('Event: UserEvent', 'Foo:    bar  ');
    expect(rule('header(Foo),method(exact)', 'bar  ').matches(padded)).toBe(true);
    expect(rule('header(Foo),method(starts_with)', ' ').matches(padded)).toBe(false);
  });

  it('header(): headers with an empty value are skipped, even by method none', () => {
    const empty = ev('Event: Newchannel', 'AccountCode: ', 'Channel: X');
    expect(rule('header(AccountCode),method(none)', '').matches(empty)).toBe(false);
    expect(rule('header(AccountCode),method(regex)', '.*').matches(empty)).toBe(false);
    expect(rule('header(Channel),method(none)', '').matches(empty)).toBe(true);
  });

  it('header(): any of several headers of that name may match', () => {
    const vars = ev('Event: UserEvent', 'Variable: A=1', 'Variable: B=2', 'Variable: C=3');
    expect(rule('header(Variable),method(exact)', 'B=2').matches(vars)).toBe(true);
    expect(rule('header(Variable),method(starts_with)', 'D=').matches(vars)).toBe(false);
  });

  it('header(): a name with a colon in it is looked for in the text lines', () => {
    const raw = Buffer.from('Event: UserEvent\r\nA:B: c\r\n\r\n', 'latin1');
    const message: AmiMessage = { headers: [['Event', 'UserEvent'], ['A', 'B: c']], raw };
    const odd = new Outbound(message, 'pbx1', eventClassBits(message));
    expect(rule('header(A:B),method(exact)', 'c').matches(odd)).toBe(true);
    expect(rule('header(A),method(exact)', 'B: c').matches(odd)).toBe(true);
  });

  it('name() and header() together: both must hold', () => {
    const f = rule('name(Hangup),header(Channel),method(starts_with)', 'PJSIP/');
    expect(f.matches(e)).toBe(false);
    expect(f.matches(ev('Event: Hangup', 'Channel: PJSIP/1-1'))).toBe(true);
  });

  it('regex: legacy filters see the whole event, "." crosses lines, ^ and $ are the ends of the text', () => {
    expect(rule(undefined, 'Event: Newchannel.*Exten: 100').matches(e)).toBe(true);
    expect(rule(undefined, '^Event: Newchannel').matches(e)).toBe(true);
    expect(rule(undefined, '^Channel: PJSIP').matches(e)).toBe(false);
    expect(rule(undefined, 'Uniqueid: 1.1$').matches(e)).toBe(false);
    expect(rule(undefined, 'Channel: [[:alpha:]]+/[[:digit:]]{4}-').matches(e)).toBe(true);
    expect(rule(undefined, 'Exten: \\d').matches(e)).toBe(false);
  });
});

describe('a set: include and exclude filters (should_send_event)', () => {
  const a = ev('Event: Newchannel', 'Channel: PJSIP/1-1');
  const b = ev('Event: Hangup', 'Channel: Local/1@x-1;1');
  const c = ev('Event: VarSet', 'Channel: PJSIP/2-2');

  it('no filters: everything', () => {
    const s = new EventFilterSet();
    expect([a, b, c].map((x) => s.admits(x))).toEqual([true, true, true]);
    expect(s.size).toBe(0);
  });

  it('includes only: what matches one of them', () => {
    const s = set(['name(Newchannel)', ''], ['name(Hangup)', '']);
    expect([a, b, c].map((x) => s.admits(x))).toEqual([true, true, false]);
  });

  it('excludes only: what matches none of them', () => {
    const s = set([undefined, '!Event: VarSet'], ['action(exclude),header(Channel),method(starts_with)', 'Local/']);
    expect([a, b, c].map((x) => s.admits(x))).toEqual([true, false, false]);
  });

  it('both: an include must match and no exclude, whatever order they were given in', () => {
    const filters: Array<[string | undefined, string]> = [
      ['action(exclude),header(Channel),method(starts_with)', 'Local/'],
      ['name(Newchannel)', ''],
      ['name(Hangup)', ''],
    ];
    for (const order of [filters, [...filters].reverse()]) {
      const s = set(...order);
      expect([a, b, c].map((x) => s.admits(x))).toEqual([true, false, false]);
    }
  });

  it('Asterisk’s eventfilter_test_matching table', () => {
    const s = set(
      ['name(VarSet),method(none)', ''],
      ['name(Newchannel),method(regex)', 'X[XYZ]X'],
      ['name(Newchannel),method(regex)', 'X[abc]X'],
      ['name(Newchannel),header(Someheader),method(regex)', 'ZZZ'],
      ['action(exclude),name(Newchannel),method(regex)', 'X[a]X'],
      ['action(exclude),name(Newchannel),method(regex)', 'X[Z]X'],
      ['action(exclude),name(VarSet),header(Channel),method(regex)', 'YYY'],
    );
    const events: Array<[string, string, string, boolean]> = [
      ['Newchannel', 'XXX', 'YYY', true],
      ['Newchannel', 'XZX', 'YYY', false],
      ['Newchannel', 'XaX', 'YYY', false],
      ['Newchannel', 'XbX', 'YYY', true],
      ['Newchannel', 'XcX', 'YYY', true],
      ['Newchannel', 'YYY', 'YYY', false],
      ['Newchannel', 'YYY', 'ZZZ', true],
      ['VarSet', 'XXX', 'YYY', true],
      ['VarSet', 'YYY', 'YYY', false],
    ];
    for (const [name, channel, some, sent] of events) {
      expect(s.admits(ev(`Event: ${name}`, `Channel: ${channel}`, `Someheader: ${some}`)), `${name} ${channel} ${some}`).toBe(sent);
    }
  });

  it('copy() keeps the filters and counts its own additions', () => {
    const s = set(['name(Hangup)', '']);
    const t = s.copy();
    expect([t.size, t.added, s.added]).toEqual([1, 0, 1]);
    t.add(rule('name(VarSet)', ''));
    expect([s.size, t.size, t.added]).toEqual([1, 2, 1]);
    expect(s.admits(c)).toBe(false);
    expect(t.admits(c)).toBe(true);
  });
});

describe('the examples of Asterisk’s "AMI Event Filtering" page', () => {
  const newchannelLocal = ev('Event: Newchannel', 'Channel: Local/100@test-00000001;1');
  const newchannelSip = ev('Event: Newchannel', 'Channel: PJSIP/james-00000002');
  const hangupDahdi = ev('Event: Hangup', 'Channel: DAHDI/1-1');
  const hangupJohn = ev('Event: Hangup', 'Channel: SIP/john-00000003');
  const varset = ev('Event: VarSet', 'Channel: PJSIP/jim-00000004');
  const noChannel = ev('Event: FullyBooted', 'Status: Fully Booted');
  const all = [newchannelLocal, newchannelSip, hangupDahdi, hangupJohn, varset, noChannel];
  const admitted = (s: EventFilterSet) => all.map((x) => s.admits(x));

  it('1: only Newchannel events', () => {
    expect(admitted(set(['name(Newchannel)', '']))).toEqual([true, true, false, false, false, false]);
  });

  it('2: Newchannel and Hangup, but not of Local channels', () => {
    const s = set(
      ['action(include),name(Newchannel)', ''],
      ['action(include),name(Hangup)', ''],
      ['action(exclude),header(Channel),method(starts_with)', 'Local/'],
    );
    expect(admitted(s)).toEqual([false, true, true, true, false, false]);
  });

  it('3: only some SIP channels', () => {
    const s = set(['header(Channel),method(regex)', '(PJ)?SIP/(james|jim|john)-']);
    expect(admitted(s)).toEqual([false, true, false, true, true, false]);
  });

  it('4: every event but those of DAHDI channels (an event without Channel is kept)', () => {
    const s = set(['action(exclude),header(Channel),method(starts_with)', 'DAHDI/']);
    expect(admitted(s)).toEqual([true, true, false, true, true, true]);
  });

  it('5: Newchannel and Hangup of Local channels excluded, everything else kept', () => {
    const s = set(
      ['action(exclude),name(Newchannel),header(Channel),method(starts_with)', 'Local/'],
      ['action(exclude),name(Hangup),header(Channel),method(starts_with)', 'Local/'],
    );
    expect(admitted(s)).toEqual([false, true, true, true, true, true]);
  });

  it('legacy examples', () => {
    expect(admitted(set([undefined, 'Event: Newchannel']))).toEqual([true, true, false, false, false, false]);
    expect(admitted(set([undefined, 'Event: Newchannel.*Channel: PJSIP/']))).toEqual([false, true, false, false, false, false]);
    expect(admitted(set([undefined, '!Channel: DAHDI/']))).toEqual([true, true, false, true, true, true]);
    expect(admitted(set([undefined, 'Channel: (PJ)?SIP/(james|jim|john)-']))).toEqual([false, true, false, true, true, false]);
  });
});

describe('events of a real Asterisk 22 (captures)', () => {
  const events = captureEvents('07c-originate-dial-bridge').map((m) => new Outbound(m, 'pbx1', eventClassBits(m)));

  it('the text a filter sees is the bytes Asterisk sent', () => {
    expect(events.length).toBeGreaterThan(20);
    for (const e of events) {
      expect(e.message.raw).toBeDefined();
      expect(e.text()).toBe(encodeText(e.message));
      expect(e.text().endsWith('\r\n\r\n')).toBe(true);
    }
  });

  it('name() filters pick exactly the events of that name', () => {
    for (const name of ['Newchannel', 'Hangup', 'DialBegin', 'BridgeEnter']) {
      const s = set([`name(${name})`, '']);
      const expected = events.filter((e) => e.name === name).length;
      expect(expected, name).toBeGreaterThan(0);
      expect(events.filter((e) => s.admits(e)).length, name).toBe(expected);
    }
  });

  it('a legacy regex and the same filter written with header() agree', () => {
    // A legacy regex sees the whole text: "Channel: …" alone would also match LocalTwoChannel.
    const loose = set([undefined, 'Channel: Local/100@test-[0-9a-f]+;2\r\n']);
    expect(events.filter((e) => loose.admits(e)).map((e) => e.name)).toContain('LocalBridge');
    const legacy = set([undefined, '\nChannel: Local/100@test-[0-9a-f]+;2\r\n']);
    const structured = set(['header(Channel),method(regex)', '^Local/100@test-[0-9a-f]+;2$']);
    const a = events.filter((e) => legacy.admits(e)).map((e) => e.name);
    const b = events.filter((e) => structured.admits(e)).map((e) => e.name);
    expect(a.length).toBeGreaterThan(3);
    expect(a).toEqual(b);
  });

  it('capture 10c: "Filter: Event: UserEvent" lets only the UserEvent through', () => {
    const all = captureEvents('10c-filter-waitevent').map((m) => new Outbound(m, 'pbx1', eventClassBits(m)));
    const s = set([undefined, 'Event: UserEvent']);
    expect(all.filter((e) => s.admits(e)).map((e) => e.name)).toEqual(['UserEvent']);
  });

  it('excluding Local channels from DialBegin keeps the DialBegins of other channels only', () => {
    const s = set(['action(include),name(DialBegin)', ''], ['action(exclude),header(DestChannel),method(starts_with)', 'Local/']);
    const dials = events.filter((e) => e.name === 'DialBegin');
    expect(events.filter((e) => s.admits(e))).toEqual(dials.filter((e) => !e.text().includes('DestChannel: Local/')));
  });
});

describe('POSIX extended regular expressions in JavaScript (posix-regex.ts)', () => {
  const matches = (pattern: string, text: string): boolean => {
    const r = compilePosixRegex(pattern);
    if (!r.ok) throw new Error(r.reason);
    return r.regex.test(text);
  };

  it('bracket classes, ] first, a backslash inside brackets is itself', () => {
    expect(matches('^[[:digit:]]+$', '0123')).toBe(true);
    expect(matches('^[[:upper:][:digit:]]+$', 'AB12')).toBe(true);
    expect(matches('[[:space:]]', 'a\tb')).toBe(true);
    expect(matches('[[:punct:]]', 'abc')).toBe(false);
    expect(matches('[[:punct:]]', 'a;c')).toBe(true);
    expect(matches('^[]a]+$', ']a]')).toBe(true);
    expect(matches('^[^]a]$', 'b')).toBe(true);
    expect(matches('[\\d]', '5')).toBe(false);
    expect(matches('[\\d]', '\\')).toBe(true);
    expect(matches('^[a-c-]+$', 'a-c')).toBe(true);
    expect(matches('[[.-.]]', '-')).toBe(true);
  });

  it('escapes: glibc classes and word edges; other escaped letters are the letter', () => {
    expect(matches('\\d', '5')).toBe(false);
    expect(matches('\\d', 'd')).toBe(true);
    expect(matches('^\\w+\\s\\w+$', 'ab cd')).toBe(true);
    expect(matches('\\<cd\\>', 'ab cd ef')).toBe(true);
    expect(matches('\\<cd\\>', 'abcdef')).toBe(false);
    expect(matches('a\\.b', 'a.b')).toBe(true);
    expect(matches('a\\.b', 'axb')).toBe(false);
    expect(matches('(ab)\\1', 'abab')).toBe(true);
  });

  it('repetitions as POSIX reads them', () => {
    expect(matches('^a{,2}$', 'aa')).toBe(true);
    expect(matches('^a{,2}$', 'aaa')).toBe(false);
    expect(matches('^a{2,}$', 'aaa')).toBe(true);
    // "a+?" is (a+)? in POSIX: it matches the empty string, so "xb" matches "xa+?b".
    expect(matches('^xa+?b$', 'xb')).toBe(true);
    expect(matches('^a**$', 'aaa')).toBe(true);
  });

  it('an unmatched ")" is an ordinary character; "." crosses lines', () => {
    expect(matches('a)', 'a)')).toBe(true);
    expect(matches('a.b', 'a\nb')).toBe(true);
    expect(matches('a[^x]b', 'a\nb')).toBe(true);
  });

  it('what regcomp refuses is refused', () => {
    for (const bad of ['XX[X', '(a', '*a', 'a|*b', '(?:a)', '(?=a)', 'a{x}', 'a{3,1}', '[[:nope:]]', '[z-a]', '\\', '\\2(a)', '{1}']) {
      expect(compilePosixRegex(bad).ok, bad).toBe(false);
    }
  });
});

describe('Outbound as the EventView filters read', () => {
  it('works out its name and text at most once, and only when asked', () => {
    let reads = 0;
    const headers: AmiHeader[] = [['Event', 'Hangup'], ['Privilege', 'call,all'], ['Channel', 'PJSIP/1-1']];
    const message: AmiMessage = {
      get headers() {
        reads++;
        return headers;
      },
    };
    const out = new Outbound(message, 'pbx1', 2);
    expect(reads).toBe(0);
    expect(out.name).toBe('Hangup');
    const afterName = reads;
    expect(afterName).toBeGreaterThan(0);
    expect(out.name).toBe('Hangup');
    expect(reads).toBe(afterName);
    expect(out.text()).toBe('Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/1-1\r\n\r\n');
    const afterText = reads;
    expect(afterText).toBeGreaterThan(afterName);
    expect(out.text()).toBe('Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/1-1\r\n\r\n');
    expect(reads).toBe(afterText);
  });

  it('an event without an Event header has the name ""', () => {
    expect(new Outbound({ headers: [['Foo', 'bar']] }, undefined, 1).name).toBe('');
  });
});
