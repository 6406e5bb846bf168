import { describe, expect, it } from 'vitest';
import { getHeader, type AmiHeader, type AmiMessage } from '../src/ami/message.js';
import { ActionRouter } from '../src/router/action-router.js';

const msg = (...headers: AmiHeader[]): AmiMessage => ({ headers });

function router() {
  return new ActionRouter<string>({ idPrefix: 'amx-', server: 'pbx1', lingerMs: 1000, originateGraceMs: 1000 });
}

describe('ActionRouter', () => {
  it('gives each action its own ActionID and restores the client one on the response, where it stood', () => {
    const r = router();
    const a = r.register('alice', msg(['Action', 'Ping'], ['ActionID', '1']), 5000, 0);
    const b = r.register('bob', msg(['Action', 'Ping'], ['ActionID', '1']), 5000, 0);
    expect(a.proxyId).not.toBe(b.proxyId);
    expect(a.message.headers).toEqual([['Action', 'Ping'], ['ActionID', a.proxyId]]);

    const res = r.route(msg(['Response', 'Success'], ['ActionID', b.proxyId], ['Ping', 'Pong']), 1);
    expect(res.replies).toEqual([
      { client: 'bob', message: msg(['Response', 'Success'], ['ActionID', '1'], ['Ping', 'Pong']), final: true, event: false },
    ]);
    expect(res.broadcast).toBeUndefined();
    expect(r.size).toBe(1);
  });

  it('removes the ActionID from answers to an action that had none', () => {
    const r = router();
    const { message, proxyId } = r.register('alice', msg(['Action', 'Ping']), 5000, 0);
    expect(getHeader(message, 'ActionID')).toBe(proxyId);
    const res = r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['Ping', 'Pong']), 1);
    expect(res.replies[0]!.message).toEqual(msg(['Response', 'Success'], ['Ping', 'Pong']));
  });

  it('keeps an EventList entry until the Complete event and sends every item only to its client', () => {
    const r = router();
    const { proxyId } = r.register('alice', msg(['Action', 'CoreShowChannels'], ['ActionID', 'x']), 5000, 0);
    const start = r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['EventList', 'start']), 1);
    expect(start.replies[0]!.final).toBe(false);
    const item = r.route(msg(['Event', 'CoreShowChannel'], ['ActionID', proxyId], ['Channel', 'PJSIP/1']), 2);
    expect(item.replies).toEqual([
      { client: 'alice', message: msg(['Event', 'CoreShowChannel'], ['ActionID', 'x'], ['Channel', 'PJSIP/1']), final: false, event: false },
    ]);
    expect(item.broadcast).toBeUndefined();
    expect(r.size).toBe(1);
    const done = r.route(msg(['Event', 'CoreShowChannelsComplete'], ['ActionID', proxyId], ['EventList', 'Complete'], ['ListItems', '1']), 3);
    expect(getHeader(done.replies[0]!.message, 'ActionID')).toBe('x');
    expect(done.replies[0]!.final).toBe(true);
    expect(r.size).toBe(0);
  });

  it('sends an OriginateResponse to its sender with its ActionID and to everyone else without one', () => {
    const r = router();
    const { proxyId } = r.register('alice', msg(['Action', 'Originate'], ['Async', 'true'], ['ActionID', 'o1']), 5000, 0);
    r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['Message', 'Originate successfully queued']), 1);
    const ev = r.route(msg(['Event', 'OriginateResponse'], ['Privilege', 'call,all'], ['ActionID', proxyId], ['Response', 'Success']), 20_000);
    expect(ev.replies).toEqual([
      {
        client: 'alice',
        message: msg(['Event', 'OriginateResponse'], ['Privilege', 'call,all'], ['ActionID', 'o1'], ['Response', 'Success']),
        final: false,
        event: true,
      },
    ]);
    expect(ev.broadcast).toEqual(msg(['Event', 'OriginateResponse'], ['Privilege', 'call,all'], ['Response', 'Success']));
    expect(ev.except).toBe('alice');
  });

  it('answers a synchronous Originate from its OriginateResponse and sends it upstream as Async', () => {
    const r = router();
    const { message, proxyId } = r.register('alice', msg(['Action', 'Originate'], ['Channel', 'Local/100@test'], ['ActionID', 's']), 5000, 0);
    expect(getHeader(message, 'Async')).toBe('true');
    const queued = r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['Message', 'Originate successfully queued']), 1);
    expect(queued.replies).toEqual([]);
    const fail = r.route(msg(['Event', 'OriginateResponse'], ['ActionID', proxyId], ['Response', 'Failure'], ['Reason', '5']), 2);
    expect(fail.replies).toEqual([
      { client: 'alice', message: msg(['Response', 'Error'], ['ActionID', 's'], ['Message', 'Originate failed']), final: true, event: false },
    ]);
    expect(fail.broadcast).toBeUndefined();
  });

  it('replaces Async: no with Async: true in place', () => {
    const r = router();
    const { message } = r.register('alice', msg(['Action', 'Originate'], ['Async', 'no'], ['Channel', 'x']), 5000, 0);
    expect(message.headers.slice(0, 3)).toEqual([['Action', 'Originate'], ['Async', 'true'], ['Channel', 'x']]);
  });

  it('routes a UserEvent that arrives after the response to its sender (linger)', () => {
    const r = router();
    const { proxyId } = r.register('alice', msg(['Action', 'UserEvent'], ['UserEvent', 'T'], ['ActionID', 'ue']), 5000, 0);
    r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['Message', 'Event Sent']), 1);
    const ev = r.route(msg(['Event', 'UserEvent'], ['Privilege', 'user,all'], ['UserEvent', 'T'], ['ActionID', proxyId]), 2);
    expect(getHeader(ev.replies[0]!.message, 'ActionID')).toBe('ue');
    expect(getHeader(ev.broadcast!, 'ActionID')).toBeUndefined();
  });

  it('broadcasts events with another session ActionID without that ActionID', () => {
    const r = router();
    const ev = r.route(msg(['Event', 'OriginateResponse'], ['ActionID', '1'], ['Response', 'Success']), 0);
    expect(ev.replies).toEqual([]);
    expect(ev.broadcast).toEqual(msg(['Event', 'OriginateResponse'], ['Response', 'Success']));
  });

  it('never delivers a response it cannot attribute', () => {
    const r = router();
    expect(r.route(msg(['Response', 'Success'], ['ActionID', '1']), 0).replies).toEqual([]);
    expect(r.route(msg(['Response', 'Success']), 0).dropped).toBeDefined();
    expect(r.route(msg(['Event', 'CoreShowChannel'], ['ActionID', 'amx-999']), 0).broadcast).toBeUndefined();
  });

  it('answers an action with an error at its deadline, and drops what comes for it later', () => {
    const r = router();
    const { proxyId } = r.register('alice', msg(['Action', 'Command'], ['ActionID', 'c']), 1000, 0);
    expect(r.expire(999)).toEqual([]);
    const [err] = r.expire(1000);
    expect(err!.client).toBe('alice');
    expect(getHeader(err!.message, 'Response')).toBe('Error');
    expect(getHeader(err!.message, 'ActionID')).toBe('c');
    expect(getHeader(err!.message, 'Message')).toMatch(/pbx1.*1 s/);
    const late = r.route(msg(['Response', 'Success'], ['ActionID', proxyId]), 1001);
    expect(late.replies).toEqual([]);
    expect(late.broadcast).toBeUndefined();
  });

  it('restarts the deadline of a list with every item', () => {
    const r = router();
    const { proxyId } = r.register('alice', msg(['Action', 'Status'], ['ActionID', 'st']), 1000, 0);
    r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['EventList', 'start']), 900);
    r.route(msg(['Event', 'Status'], ['ActionID', proxyId]), 1800);
    expect(r.expire(2500)).toEqual([]);
    expect(r.expire(2800)).toHaveLength(1);
  });

  it('cuts off a list that keeps flowing once it has taken listTimeoutMs in all, and drops what comes after', () => {
    const r = router();
    const { proxyId } = r.register('alice', msg(['Action', 'Status'], ['ActionID', 'st']), 1000, 0, 5000);
    r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['EventList', 'start']), 500);
    for (let t = 900; t < 5000; t += 400) {
      expect(r.route(msg(['Event', 'Status'], ['ActionID', proxyId]), t).replies).toHaveLength(1);
      expect(r.expire(t)).toEqual([]);
    }
    const [cut] = r.expire(5000);
    expect(cut).toMatchObject({ client: 'alice', final: true, failure: 'timeout' });
    expect(cut!.message).toEqual(msg(['Response', 'Error'], ['ActionID', 'st'], ['Message', 'Timeout: server pbx1 did not complete the list of Status within 5 s']));
    expect(r.route(msg(['Event', 'Status'], ['ActionID', proxyId]), 5100).replies).toEqual([]);
    expect(r.route(msg(['Event', 'StatusComplete'], ['ActionID', proxyId], ['EventList', 'Complete']), 5200).replies).toEqual([]);
    expect(r.size).toBe(0);
  });

  it('fails every waiting action when the server goes away', () => {
    const r = router();
    r.register('alice', msg(['Action', 'Ping'], ['ActionID', 'a']), 5000, 0);
    r.register('bob', msg(['Action', 'Ping']), 5000, 0);
    const replies = r.failAll('Server pbx1 disconnected: connection closed by the PBX');
    expect(replies.map((x) => [x.client, getHeader(x.message, 'ActionID'), getHeader(x.message, 'Message')])).toEqual([
      ['alice', 'a', 'Server pbx1 disconnected: connection closed by the PBX'],
      ['bob', undefined, 'Server pbx1 disconnected: connection closed by the PBX'],
    ]);
    expect(r.size).toBe(0);
    expect(replies.every((x) => x.final && !x.event)).toBe(true);
  });

  it('treats an empty ActionID as none, as Asterisk does', () => {
    const r = router();
    const { proxyId } = r.register('alice', msg(['Action', 'Ping'], ['ActionID', '']), 5000, 0);
    const res = r.route(msg(['Response', 'Success'], ['ActionID', proxyId], ['Ping', 'Pong']), 1);
    expect(res.replies[0]!.message).toEqual(msg(['Response', 'Success'], ['Ping', 'Pong']));
  });

  it('keeps a duplicate ActionID header of the client untouched and rewrites only the first', () => {
    const r = router();
    const { message, proxyId } = r.register('alice', msg(['Action', 'Ping'], ['ActionID', 'first'], ['ActionID', 'second']), 5000, 0);
    expect(message.headers).toEqual([['Action', 'Ping'], ['ActionID', proxyId], ['ActionID', 'second']]);
  });
});
