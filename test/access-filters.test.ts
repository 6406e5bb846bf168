/**
 * What a user may see, over real sockets through a running amiplex: the events of a real
 * Asterisk 22 capture (07c: an Originate, Dial and bridge between Local channels) replayed by a
 * scripted PBX, and what each client receives compared with what Asterisk 22's rules give —
 * worked out here, independently, from the rule each user has (read classes, events /
 * deny_events, the legacy regex eventfilter, the structured eventfilter, the Filter action per
 * client). Then device scoping (`channels`) and server scoping on events written for the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AmiMessage } from '../src/ami/message.js';
import { encodeAction, header, isEvent, type AmiTestClient, type Headers } from './helpers/ami-test-client.js';
import { ECHO_PBX } from './helpers/access-logs.js';
import { captureEvents } from './helpers/captures.js';
import { parseConfig } from '../src/config/index.js';
import { fixtureConfigText, startFixture, stopAllFixtures, type ProxyFixture, type UserSpec } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

/** The capture's broadcast events: not its session's own (FullyBooted, SuccessfulAuth) nor an answer (with an ActionID). */
const CAPTURED: AmiMessage[] = captureEvents('07c-originate-dial-bridge').filter(
  (m) => header(m, 'ActionID') === undefined && !['FullyBooted', 'SuccessfulAuth'].includes(header(m, 'Event')!),
);

const nameOf = (m: { headers: AmiMessage['headers'] }) => header(m, 'Event')!;
/** The event as Asterisk's legacy filters see it: every line, CRLF. */
const textOf = (m: AmiMessage) => encodeAction(m.headers);
const valuesOf = (m: AmiMessage, name: string) => m.headers.filter(([n]) => n === name).map(([, v]) => v);

/** Writes events as PBX `pbx` (its one session with amiplex). */
function emit(fx: ProxyFixture, pbx: string, events: readonly { headers: Headers }[]): void {
  const [session] = fx.pbx(pbx).scripted!.sessions;
  for (const e of events) session!.send(e.headers);
}

let syncs = 0;

/**
 * The broadcast events `c` received from message `from` until everything the PBX sent before
 * has arrived (an action answered by that PBX after the events), without amiplex's Server header.
 */
async function receivedSince(c: AmiTestClient, from: number, server = 'pbx1'): Promise<string[]> {
  const id = `sync-${++syncs}`;
  const answer = await c.action([['Action', 'CoreSettings'], ['ActionID', id], ['Server', server]]);
  return c.messages
    .slice(from, answer.index)
    .filter((m) => isEvent(m) && header(m, 'ActionID') === undefined)
    .map((m) => m.raw.replace(`Server: ${server}\r\n\r\n`, '\r\n'));
}

/** Replays the capture to every client at once; returns what each received, by label. */
async function replay(fx: ProxyFixture, clients: readonly AmiTestClient[], events: readonly AmiMessage[] = CAPTURED): Promise<Map<string, string[]>> {
  const from = clients.map((c) => c.messages.length);
  emit(fx, 'pbx1', events);
  const got = new Map<string, string[]>();
  for (const [i, c] of clients.entries()) got.set(c.label, await receivedSince(c, from[i]!));
  return got;
}

const expected = (pass: (m: AmiMessage) => boolean, events: readonly AmiMessage[] = CAPTURED) => events.filter(pass).map(textOf);

async function fixtureFor(users: UserSpec[]): Promise<ProxyFixture> {
  return startFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users });
}

describe('filters on a replayed Asterisk 22 capture', () => {
  it('has the variety the rules below need', () => {
    const names = new Set(CAPTURED.map(nameOf));
    for (const n of ['VarSet', 'Newexten', 'Newchannel', 'Hangup', 'HangupRequest', 'Cdr', 'QueueMemberStatus', 'DialBegin']) expect(names).toContain(n);
  });

  it('read classes: only events all of whose classes the user reads', async () => {
    const fx = await fixtureFor([
      { name: 'all' },
      { name: 'call', settings: { read: 'call' } },
      { name: 'calldp', settings: { read: 'call, dialplan' } },
      { name: 'cdr', settings: { read: 'cdr' } },
    ]);
    const clients = await Promise.all(['all', 'call', 'calldp', 'cdr'].map((u) => fx.loggedIn(u)));
    const got = await replay(fx, clients);
    const classes = (m: AmiMessage) => (header(m, 'Privilege') ?? '').split(',').filter((c) => c !== 'all');
    const reads = (allowed: string[]) => (m: AmiMessage) => classes(m).every((c) => allowed.includes(c));
    expect(got.get('all')).toEqual(expected(() => true));
    expect(got.get('call')).toEqual(expected(reads(['call'])));
    expect(got.get('calldp')).toEqual(expected(reads(['call', 'dialplan'])));
    expect(got.get('cdr')).toEqual(expected(reads(['cdr'])));
    expect(got.get('cdr')!.length).toBe(CAPTURED.filter((m) => nameOf(m) === 'Cdr').length);
  });

  it('events and deny_events: name globs, deny wins', async () => {
    const fx = await fixtureFor([
      { name: 'inc', settings: { events: 'Newchannel, Dial*, hangup' } },
      { name: 'exc', settings: { deny_events: 'VarSet, New*' } },
      { name: 'both', settings: { events: 'Dial*, Hangup*', deny_events: 'DialEnd' } },
    ]);
    const clients = await Promise.all(['inc', 'exc', 'both'].map((u) => fx.loggedIn(u)));
    const got = await replay(fx, clients);
    const is = (...names: string[]) => (m: AmiMessage) => names.includes(nameOf(m));
    // Globs ignore case, as the action lists do: `hangup` is Hangup.
    expect(got.get('inc')).toEqual(expected(is('Newchannel', 'DialBegin', 'DialEnd', 'Hangup')));
    expect(got.get('exc')).toEqual(expected((m) => nameOf(m) !== 'VarSet' && !nameOf(m).startsWith('New')));
    expect(got.get('both')).toEqual(expected(is('DialBegin', 'Hangup', 'HangupRequest')));
  });

  it('legacy eventfilter: unanchored regular expressions on the whole event; ! excludes', async () => {
    const fx = await fixtureFor([
      { name: 'novarset', lines: ['eventfilter = !Event: VarSet'] },
      { name: 'allow', lines: ['eventfilter = Event: Newchannel', 'eventfilter = Event: Hangup'] },
      { name: 'mixed', lines: ['eventfilter = Channel: Local/100@', 'eventfilter = !Event: (VarSet|Newexten)'] },
      { name: 'anchored', lines: ['eventfilter = ^Event: Dial'] },
    ]);
    const clients = await Promise.all(['novarset', 'allow', 'mixed', 'anchored'].map((u) => fx.loggedIn(u)));
    const got = await replay(fx, clients);
    expect(got.get('novarset')).toEqual(expected((m) => !textOf(m).includes('Event: VarSet')));
    // Unanchored: `Event: Hangup` lets HangupRequest through too, as in Asterisk.
    const allow = expected((m) => textOf(m).includes('Event: Newchannel') || textOf(m).includes('Event: Hangup'));
    expect(got.get('allow')).toEqual(allow);
    expect(allow.some((t) => t.startsWith('Event: HangupRequest\r\n'))).toBe(true);
    expect(got.get('mixed')).toEqual(expected((m) => /Channel: Local\/100@/.test(textOf(m)) && !/Event: (VarSet|Newexten)/.test(textOf(m))));
    expect(got.get('anchored')).toEqual(expected((m) => textOf(m).startsWith('Event: Dial')));
    expect(got.get('anchored')!.length).toBeGreaterThan(0);
  });

  it('structured eventfilter: name(), header() and method(), include and exclude', async () => {
    const fx = await fixtureFor([
      { name: 'nonewexten', lines: ['eventfilter(action(exclude),name(Newexten)) ='] },
      { name: 'local100', lines: ['eventfilter(action(include),header(Channel),method(starts_with)) = Local/100'] },
      { name: 'dialvars', lines: ['eventfilter(name(VarSet),header(Variable),method(starts_with)) = DIAL'] },
      { name: 'exact', lines: ['eventfilter(name(Hangup),header(Cause),method(exact)) = 16', 'eventfilter(action(exclude),header(Channel),method(contains)) = 600@'] },
    ]);
    const clients = await Promise.all(['nonewexten', 'local100', 'dialvars', 'exact'].map((u) => fx.loggedIn(u)));
    const got = await replay(fx, clients);
    expect(got.get('nonewexten')).toEqual(expected((m) => nameOf(m) !== 'Newexten'));
    // header(Channel) is the Channel header only (not DestChannel, LocalOneChannel, …).
    expect(got.get('local100')).toEqual(expected((m) => valuesOf(m, 'Channel').some((v) => v.startsWith('Local/100'))));
    expect(got.get('dialvars')).toEqual(expected((m) => nameOf(m) === 'VarSet' && valuesOf(m, 'Variable').some((v) => v.startsWith('DIAL'))));
    const channel = (m: AmiMessage) => valuesOf(m, 'Channel');
    expect(got.get('exact')).toEqual(
      expected((m) => nameOf(m) === 'Hangup' && valuesOf(m, 'Cause').includes('16') && !channel(m).some((v) => v.includes('600@'))),
    );
    // Local/100@test-00000007;1 and ;2: the two Local/600 legs are excluded.
    expect(got.get('exact')).toHaveLength(2);
  });

  it('the Filter action is per client: two clients of one user with different Filters, a third with none', async () => {
    const fx = await fixtureFor([{ name: 'ops' }]);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((l) => fx.loggedIn('ops', undefined, l)));
    const ok = async (cl: AmiTestClient, hs: Headers) => expect(header(await cl.action([['Action', 'Filter'], ['ActionID', 'f'], ['Operation', 'Add'], ...hs]), 'Message')).toBe('Success');
    await ok(a!, [['Filter', 'Event: Newchannel']]);
    await ok(b!, [['MatchCriteria', 'action(exclude),name(VarSet)']]);
    await ok(b!, [['MatchCriteria', 'action(exclude),name(Newexten)']]);
    const got = await replay(fx, [a!, b!, c!]);
    expect(got.get('a')).toEqual(expected((m) => textOf(m).includes('Event: Newchannel')));
    expect(got.get('b')).toEqual(expected((m) => !['VarSet', 'Newexten'].includes(nameOf(m))));
    expect(got.get('c')).toEqual(expected(() => true));
  });
});

describe('device scoping', () => {
  const ev = (name: string, ...hs: Array<[string, string]>): AmiMessage => ({ headers: [['Event', name], ['Privilege', 'call,all'], ...hs] });
  // Call 1: 1001 dials out through a trunk. Call 2: 1002 calls 1003. Call 3: 1004 calls 1001.
  const EVENTS: AmiMessage[] = [
    ev('Newchannel', ['Channel', 'PJSIP/1001-00000001'], ['Linkedid', '100.1']),
    ev('Newchannel', ['Channel', 'PJSIP/trunk-00000002'], ['Linkedid', '100.1']),
    ev('DialBegin', ['Channel', 'PJSIP/1001-00000001'], ['Linkedid', '100.1'], ['DestChannel', 'PJSIP/trunk-00000002'], ['DestLinkedid', '100.1']),
    ev('Newchannel', ['Channel', 'PJSIP/1002-00000003'], ['Linkedid', '200.3']),
    ev('Newchannel', ['Channel', 'PJSIP/1003-00000004'], ['Linkedid', '200.3']),
    ev('DialBegin', ['Channel', 'PJSIP/1002-00000003'], ['Linkedid', '200.3'], ['DestChannel', 'PJSIP/1003-00000004'], ['DestLinkedid', '200.3']),
    ev('Newchannel', ['Channel', 'PJSIP/1004-00000005'], ['Linkedid', '300.5']),
    ev('DialBegin', ['Channel', 'PJSIP/1004-00000005'], ['Linkedid', '300.5'], ['DestChannel', 'PJSIP/1001-00000006'], ['DestLinkedid', '300.5']),
    ev('Newstate', ['Channel', 'PJSIP/1004-00000005'], ['Linkedid', '300.5'], ['ChannelStateDesc', 'Up']),
    ev('Hangup', ['Channel', 'PJSIP/trunk-00000002'], ['Linkedid', '100.1']),
    ev('Hangup', ['Channel', 'PJSIP/1003-00000004'], ['Linkedid', '200.3']),
    ev('DeviceStateChange', ['Device', 'PJSIP/1001'], ['State', 'INUSE']),
    ev('DeviceStateChange', ['Device', 'PJSIP/1002'], ['State', 'INUSE']),
    ev('DeviceStateChange', ['Device', 'PJSIP/10011'], ['State', 'INUSE']),
  ];

  /** Independently of amiplex: an event naming a 1001 channel or device, or one of a call such an event named before. */
  function deskSees(device: string): (m: AmiMessage) => boolean {
    const calls = new Set<string>();
    const mine = new RegExp(`^${device.replace('/', '\\/')}(-[0-9a-f]+)?$`);
    return (m) => {
      const own = m.headers.some(([n, v]) => ['Channel', 'DestChannel', 'Device'].includes(n) && mine.test(v));
      const linked = m.headers.filter(([n]) => n.endsWith('Linkedid')).map(([, v]) => v);
      if (own) for (const l of linked) calls.add(l);
      return own || linked.some((l) => calls.has(l));
    };
  }

  it('a reload that keeps its devices keeps the calls in progress related: the other leg of a call still reaches the desk', async () => {
    const users: UserSpec[] = [{ name: 'desk1', settings: { channels: 'PJSIP/1001' } }];
    const fx = await fixtureFor(users);
    const desk = await fx.loggedIn('desk1');
    // Call 1 starts: 1001's channel relates the trunk leg (Linkedid 100.1).
    expect(await replay(fx, [desk], EVENTS.slice(0, 3))).toEqual(new Map([['desk1', EVENTS.slice(0, 3).map(textOf)]]));
    const text = fixtureConfigText([{ name: 'pbx1', port: fx.pbx('pbx1').port }], [{ name: 'desk1', settings: { channels: 'PJSIP/1001', deny_actions: 'Command' } }]);
    await fx.proxy.reload(parseConfig(text, 'test-proxy.conf'));
    // The trunk leg's Hangup names no device of the desk; it is of the call the desk is in.
    const trunkHangup = EVENTS[9]!;
    expect(header(trunkHangup, 'Channel')).toBe('PJSIP/trunk-00000002');
    expect(await replay(fx, [desk], [trunkHangup])).toEqual(new Map([['desk1', [textOf(trunkHangup)]]]));
  });

  it("a desk sees its own calls' events, by Channel, DestChannel and the other legs (Linkedid), and no one else's", async () => {
    const fx = await fixtureFor([{ name: 'desk1', settings: { channels: 'PJSIP/1001' } }, { name: 'desk3', settings: { channels: 'PJSIP/1003' } }, { name: 'all' }]);
    const clients = await Promise.all(['desk1', 'desk3', 'all'].map((u) => fx.loggedIn(u)));
    const got = await replay(fx, clients, EVENTS);
    const desk1 = expected(deskSees('PJSIP/1001'), EVENTS);
    expect(got.get('desk1')).toEqual(desk1);
    // Its channel, the trunk leg (Linkedid), the call from 1004 from its DialBegin (DestChannel) on,
    // its device; not 1002→1003, not PJSIP/10011.
    expect(desk1).toHaveLength(7);
    expect(got.get('desk3')).toEqual(expected(deskSees('PJSIP/1003'), EVENTS));
    expect(got.get('all')).toEqual(EVENTS.map(textOf));
  });
});

describe('server scoping', () => {
  it('a user sees the events of its servers only', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', ...ECHO_PBX }, { name: 'pbx2', ...ECHO_PBX }],
      users: [{ name: 'one', servers: ['pbx1'] }, { name: 'two', servers: ['pbx2'] }, { name: 'both', servers: ['pbx1', 'pbx2'] }],
    });
    const [one, two, both] = await Promise.all(['one', 'two', 'both'].map((u) => fx.loggedIn(u)));
    const from = [one!, two!, both!].map((c) => c.messages.length);
    const ue = (name: string): Headers => [['Event', 'UserEvent'], ['Privilege', 'user,all'], ['UserEvent', name]];
    emit(fx, 'pbx1', [{ headers: ue('from-1') }]);
    emit(fx, 'pbx2', [{ headers: ue('from-2') }]);
    const names = async (c: AmiTestClient, i: number, servers: string[]) => {
      for (const s of servers) await receivedSince(c, from[i]!, s);
      return c.messages.slice(from[i]).filter((m) => isEvent(m, 'UserEvent')).map((m) => `${header(m, 'UserEvent')}@${header(m, 'Server')}`).sort();
    };
    expect(await names(one!, 0, ['pbx1'])).toEqual(['from-1@pbx1']);
    expect(await names(two!, 1, ['pbx2'])).toEqual(['from-2@pbx2']);
    expect(await names(both!, 2, ['pbx1', 'pbx2'])).toEqual(['from-1@pbx1', 'from-2@pbx2']);
    // And a server outside its list is refused, not a fallback.
    expect(header(await one!.action([['Action', 'CoreSettings'], ['ActionID', 'x'], ['Server', 'pbx2']]), 'Message')).toBe('Permission denied for server pbx2');
  });
});
