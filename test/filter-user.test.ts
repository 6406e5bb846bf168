/**
 * A user's event filter (src/filters/user-event-filter.ts), compiled from [user] sections as
 * proxy.conf gives them: servers, read classes, event names, eventfilter lines, device scope,
 * and amiplex's own Proxy* events getting through to everyone who may use the server.
 */
import { describe, expect, it } from 'vitest';

import { eventClassBits } from '../src/ami/event-classes.js';
import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { Outbound } from '../src/clients/shared/outbound.js';
import { parseConfig, type UserConfig } from '../src/config/index.js';
import { parseEventFilter } from '../src/filters/event-filter.js';
import type { EventView } from '../src/filters/event-view.js';
import { compileUserEventFilter } from '../src/filters/user-event-filter.js';

const SERVERS =
  '[server pbx1]\nhost = 10.0.0.1\nusername = a\nsecret = s\n' +
  '[server pbx2]\nhost = 10.0.0.2\nusername = a\nsecret = s\n';

function user(...lines: string[]): UserConfig {
  return parseConfig(SERVERS + ['[user u]', 'secret = p', ...lines].join('\n') + '\n', 'proxy.conf').users[0]!;
}

function ev(server: string | undefined, ...lines: string[]): Outbound {
  const headers: AmiHeader[] = lines.map((l) => {
    const i = l.indexOf(': ');
    return [l.slice(0, i), l.slice(i + 2)];
  });
  const message: AmiMessage = { headers };
  return new Outbound(message, server, eventClassBits(message));
}

const newchannel = (server: string | undefined, channel = 'PJSIP/1001-00000001') =>
  ev(server, 'Event: Newchannel', 'Privilege: call,all', `Channel: ${channel}`, 'Linkedid: 1.1');
const newexten = (server: string | undefined) => ev(server, 'Event: Newexten', 'Privilege: dialplan,all', 'Channel: PJSIP/1001-00000001');
const booted = (server: string | undefined) => ev(server, 'Event: FullyBooted', 'Privilege: system,all', 'Status: Fully Booted');
const serverDown = (server: string) => ev(server, 'Event: ProxyServerDown', 'Privilege: system,all', `Server: ${server}`, 'Reason: connection lost');

/** An event that fails the test if a filter reads its name or its text. */
function untouchable(server: string | undefined, classBits: number): EventView {
  return {
    message: { headers: [['Event', 'Newchannel']] },
    classBits,
    server,
    get name(): string {
      throw new Error('name read');
    },
    text(): string {
      throw new Error('text read');
    },
  };
}

describe('servers', () => {
  it('events of the user’s servers only; events of no server always', () => {
    const f = compileUserEventFilter(user('servers = pbx2'));
    expect(f(newchannel('pbx2'))).toBe(true);
    expect(f(newchannel('pbx1'))).toBe(false);
    expect(f(newchannel(undefined))).toBe(true);
  });

  it('ProxyServerDown reaches exactly the users who may use that server', () => {
    const both = compileUserEventFilter(user());
    const only1 = compileUserEventFilter(user('servers = pbx1'));
    expect([both(serverDown('pbx2')), only1(serverDown('pbx2')), only1(serverDown('pbx1'))]).toEqual([true, false, true]);
  });
});

describe('read classes (manager.conf semantics)', () => {
  it('absent: every class', () => {
    const f = compileUserEventFilter(user());
    expect([f(newchannel('pbx1')), f(newexten('pbx1')), f(booted('pbx1'))]).toEqual([true, true, true]);
  });

  it('an event passes when all its classes are read', () => {
    const f = compileUserEventFilter(user('read = call, dialplan'));
    expect([f(newchannel('pbx1')), f(newexten('pbx1')), f(booted('pbx1'))]).toEqual([true, true, false]);
    const two = ev('pbx1', 'Event: Odd', 'Privilege: call,system,all');
    expect(f(two)).toBe(false);
    expect(compileUserEventFilter(user('read = call, system'))(two)).toBe(true);
  });

  it('an event without Privilege counts as every class: only read = all gets it', () => {
    const bare = ev('pbx1', 'Event: Odd', 'Channel: X');
    expect(compileUserEventFilter(user('read = call'))(bare)).toBe(false);
    expect(compileUserEventFilter(user('read = all'))(bare)).toBe(true);
    expect(compileUserEventFilter(user())(bare)).toBe(true);
  });
});

describe('event names', () => {
  it('events and deny_events: "*" globs, case ignored, whole name', () => {
    const f = compileUserEventFilter(user('events = new*, Hangup', 'deny_events = NEWEXTEN'));
    const names = ['Newchannel', 'Newexten', 'Newstate', 'Hangup', 'HangupRequest', 'VarSet'];
    expect(names.map((n) => f(ev('pbx1', `Event: ${n}`, 'Privilege: call,all')))).toEqual([true, false, true, true, false, false]);
  });

  it('deny_events alone', () => {
    const f = compileUserEventFilter(user('deny_events = VarSet, RTCP*'));
    expect(['VarSet', 'RTCPSent', 'Newchannel'].map((n) => f(ev('pbx1', `Event: ${n}`, 'Privilege: call,all')))).toEqual([false, false, true]);
  });
});

describe('eventfilter lines', () => {
  it('are Asterisk’s filters, includes and excludes together', () => {
    const f = compileUserEventFilter(user(
      'eventfilter(action(include),name(Newchannel)) =',
      'eventfilter(action(include),name(Hangup)) =',
      'eventfilter(action(exclude),header(Channel),method(starts_with)) = Local/',
    ));
    expect(f(newchannel('pbx1'))).toBe(true);
    expect(f(newchannel('pbx1', 'Local/100@test-00000001;1'))).toBe(false);
    expect(f(newexten('pbx1'))).toBe(false);
    expect(f.eventFilters.size).toBe(3);
  });

  it('a session’s Filter actions add to a copy of them (withEventFilters)', () => {
    const f = compileUserEventFilter(user('eventfilter(name(Newchannel)) ='));
    const session = f.eventFilters.copy();
    const s = f.withEventFilters(session);
    expect(s(newexten('pbx1'))).toBe(false);
    const r = parseEventFilter('name(Newexten)', '');
    if (!r.ok) throw new Error(r.reason);
    session.add(r.rule);
    // The session's include widens what the user's own include lets through, as in Asterisk.
    expect(s(newexten('pbx1'))).toBe(true);
    expect(f(newexten('pbx1'))).toBe(false);
    expect(f.eventFilters.size).toBe(1);
  });

  it('a session set on a user without eventfilter lines', () => {
    const f = compileUserEventFilter(user());
    const session = f.eventFilters.copy();
    const s = f.withEventFilters(session);
    expect(s(newexten('pbx1'))).toBe(true);
    const r = parseEventFilter(undefined, '!Event: Newexten');
    if (!r.ok) throw new Error(r.reason);
    session.add(r.rule);
    expect(s(newexten('pbx1'))).toBe(false);
    expect(s(newchannel('pbx1'))).toBe(true);
  });
});

describe('channels (device scope)', () => {
  it('only events about the user’s devices, and the other legs of their calls', () => {
    const f = compileUserEventFilter(user('channels = PJSIP/1001, SIP/1001'));
    expect(f(newchannel('pbx1', 'PJSIP/1002-00000009'))).toBe(false);
    expect(f(newchannel('pbx1', 'SIP/1001-00000002'))).toBe(true);
    // Linkedid 1.1 is now a call of this user's: its trunk leg is shown.
    expect(f(newchannel('pbx1', 'PJSIP/trunk-00000003'))).toBe(true);
    expect(f(booted('pbx1'))).toBe(false);
    expect(f.scope?.relatedCount).toBe(1);
  });
});

describe('amiplex’s own events', () => {
  it('pass name, device and eventfilter rules, but not read classes or servers', () => {
    const strict = user(
      'servers = pbx1', 'events = Hangup', 'channels = PJSIP/1001',
      'eventfilter(name(Hangup)) =', 'read = call',
    );
    expect(compileUserEventFilter(strict)(serverDown('pbx1'))).toBe(false);
    const withSystem = compileUserEventFilter(user(
      'servers = pbx1', 'events = Hangup', 'deny_events = Proxy*', 'channels = PJSIP/1001',
      'eventfilter(name(Hangup)) =', 'read = call, system',
    ));
    expect(withSystem(serverDown('pbx1'))).toBe(true);
    expect(withSystem(serverDown('pbx2'))).toBe(false);
    expect(withSystem(ev('pbx1', 'Event: ProxyServerUp', 'Privilege: system,all', 'Server: pbx1'))).toBe(true);
  });
});

describe('cost', () => {
  it('a user with no rules never reads an event’s name or text', () => {
    const f = compileUserEventFilter(user());
    expect(f(untouchable('pbx1', eventClassBits({ headers: [['Privilege', 'call,all']] })))).toBe(true);
    expect(f(untouchable('pbx9', 0))).toBe(false);
  });

  it('read classes are checked before the name is read', () => {
    const f = compileUserEventFilter(user('read = call', 'events = Newchannel'));
    expect(f(untouchable('pbx1', eventClassBits({ headers: [['Privilege', 'system,all']] })))).toBe(false);
  });

  it('name rules never need the whole text', () => {
    const f = compileUserEventFilter(user('events = Newchannel'));
    const e = newchannel('pbx1');
    e.text = () => {
      throw new Error('text read');
    };
    expect(f(e)).toBe(true);
  });
});
