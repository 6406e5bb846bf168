/**
 * The PBX side: a PBX that dies in the middle of a list (errors for the pending actions,
 * ProxyServerDown, clients stay, immediate errors while it is down, ProxyServerUp and events
 * again after it is back), and actions the PBX never answers (timeout errors, nobody else
 * disturbed, late answers dropped).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventNamed,
  hasHeader,
  header,
  isEvent,
  isResponse,
  responseTo,
  type Received,
} from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil, type ReceivedAction } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const trafficEvent = (m: Received): boolean =>
  isEvent(m) && !isEvent(m, 'FullyBooted') && !/^Proxy/.test(header(m, 'Event') ?? '') && header(m, 'ActionID') === undefined;

describe('a PBX that goes down and comes back', () => {
  it('answers the pending list with an error naming the server, keeps clients, then recovers', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 50, listItemDelayMs: 150 } }],
      general: { action_timeout: 10 },
    });
    const c = await fx.loggedIn('alice', 'on', 'lister');
    const other = await fx.loggedIn('alice', 'off', 'other');
    // Calls up, so the list is long: 3 calls, 2 channels each, 150 ms apart.
    for (let i = 0; i < 3; i++) {
      await c.action([
        ['Action', 'Originate'], ['Channel', 'Local/530@test'], ['Application', 'Wait'], ['Data', '20'],
        ['Async', 'true'], ['ActionID', `o${i}`],
      ]);
      await c.waitFor(eventNamed('OriginateResponse', `o${i}`), 5000);
    }
    const from = c.messages.length;
    c.sendAction([['Action', 'Status'], ['ActionID', 'mid-list']]);
    other.sendAction([['Action', 'CoreShowChannels'], ['ActionID', 'other-list']]);
    const start = await c.waitFor(responseTo('mid-list'), 3000, from);
    expect(header(start, 'EventList')).toBe('start');
    await c.waitFor(eventNamed('Status', 'mid-list'), 3000, from);

    await fx.pbx('pbx1').stop();

    const failed = await c.waitFor((m) => responseTo('mid-list')(m) && header(m, 'Response') === 'Error', 3000, start.index + 1);
    expect(failed.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'mid-list']]);
    expect(header(failed, 'Message')).toContain('pbx1');
    const otherFailed = await other.waitFor((m) => header(m, 'ActionID') === 'other-list' && header(m, 'Response') === 'Error', 3000);
    expect(header(otherFailed, 'Message')).toContain('pbx1');
    expect(c.count((m) => isEvent(m, 'StatusComplete'))).toBe(0);

    const down = await c.waitFor(eventNamed('ProxyServerDown'), 3000);
    expect(header(down, 'Server')).toBe('pbx1');
    expect(down.headers[0]).toEqual(['Event', 'ProxyServerDown']);
    // An Events: off client hears nothing unsolicited, not even this.
    expect(other.count(eventNamed('ProxyServerDown'))).toBe(0);
    expect(c.isOpen && other.isOpen).toBe(true);

    // While it is down, new actions get an error at once.
    const t0 = Date.now();
    const refused = await c.action([['Action', 'Ping'], ['ActionID', 'while-down']], 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(refused.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'while-down']]);
    expect(header(refused, 'Message')).toContain('pbx1');

    await fx.pbx('pbx1').start();
    const up = await c.waitFor(eventNamed('ProxyServerUp'), 5000, down.index + 1);
    expect(header(up, 'Server')).toBe('pbx1');
    // Each state change was logged.
    const states = fx.logs.map((l) => JSON.parse(l) as { server?: string; state?: string }).filter((l) => l.server === 'pbx1' && l.state);
    expect(states.map((l) => l.state)).toEqual(expect.arrayContaining(['down', 'connecting', 'authenticating', 'up']));

    const ping = await c.action([['Action', 'Ping'], ['ActionID', 'after-up']]);
    expect(ping.headers.slice(0, 3)).toEqual([['Response', 'Success'], ['ActionID', 'after-up'], ['Ping', 'Pong']]);
    const list = await other.list([['Action', 'CoreShowChannels'], ['ActionID', 'after-up-list']]);
    expect(header(list.complete, 'ListItems')).toBe(String(list.items.length));
    // Events resume.
    await c.waitForCount(trafficEvent, 5, 5000, up.index + 1, 'call events after ProxyServerUp');
    // Nothing was ever answered twice: one response per ActionID.
    for (const id of ['mid-list', 'while-down', 'after-up']) expect(c.count(responseTo(id)), id).toBe(id === 'mid-list' ? 2 : 1);
  });

  it('answers an action pipelined to a PBX that drops the connection before answering', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', scripted: { respond: (a) => a.session.socket.destroy() } }],
    });
    const c = await fx.loggedIn('alice', 'off');
    const res = await c.action([['Action', 'CoreSettings'], ['ActionID', 'dropped']], 3000);
    expect(res.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'dropped']]);
    expect(header(res, 'Message')).toContain('pbx1');
    expect(c.isOpen).toBe(true);
  });
});

describe('action timeout', () => {
  it('answers an action the PBX never answers with an error after action_timeout; others are not disturbed', async () => {
    const fx = await startFixture({
      pbxes: [
        { name: 'silent', scripted: {} },
        { name: 'pbx1', sim: { rate: 50 } },
      ],
      general: { action_timeout: 1 },
    });
    const c = await fx.loggedIn('alice', 'off', 'waiting');
    const other = await fx.loggedIn('alice', 'on', 'other');
    const t0 = Date.now();
    c.sendAction([['Action', 'CoreSettings'], ['ActionID', 'never'], ['Server', 'silent']]);
    c.sendAction([['Action', 'CoreSettings'], ['Server', 'silent']]);
    await fx.pbx('silent').scripted!.waitForAction('CoreSettings', 2000, 2);

    // Meanwhile, the other PBX serves everyone at once, the waiting client included.
    const pong = await other.action([['Action', 'Ping'], ['ActionID', 'never'], ['Server', 'pbx1']]);
    expect(header(pong, 'Ping')).toBe('Pong');
    const mine = await c.action([['Action', 'Ping'], ['ActionID', 'quick'], ['Server', 'pbx1']]);
    expect(header(mine, 'Ping')).toBe('Pong');
    expect(c.count(responseTo('never')), 'the timeout came before other actions were answered').toBe(0);

    const res = await c.waitFor(responseTo('never'), 4000);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(3000);
    expect(res.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'never']]);
    expect(header(res, 'Message')).toMatch(/silent/);
    const anonymous = await c.waitFor((m) => m.headers[0]?.[0] === 'Response' && !hasHeader(m, 'ActionID') && header(m, 'Response') === 'Error', 3000);
    expect(header(anonymous, 'Message')).toMatch(/silent/);
    // The other client got events all along and no answer that was not its own.
    expect(other.count((m) => header(m, 'ActionID') === 'never')).toBe(1);
    expect(other.count(trafficEvent)).toBeGreaterThan(0);
  });

  it('drops an answer that comes after the timeout (the client already has its error)', async () => {
    let late: ReceivedAction | undefined;
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', scripted: { respond: (a) => { late = a; } } }],
      general: { action_timeout: 0.4 },
    });
    const c = await fx.loggedIn('alice', 'off');
    const res = await c.action([['Action', 'CoreSettings'], ['ActionID', 'slow']], 3000);
    expect(header(res, 'Response')).toBe('Error');
    const proxyId = late!.headers.find(([n]) => n === 'ActionID')![1];
    late!.session.send([['Response', 'Success'], ['ActionID', proxyId], ['AMIversion', '11.0.0']]);
    // Then something the client can wait for, to know the late answer has been processed.
    const ping = await c.action([['Action', 'Ping'], ['ActionID', 'next']]);
    expect(header(ping, 'Ping')).toBe('Pong');
    expect(c.count(responseTo('slow'))).toBe(1);
    expect(c.messages.filter((m) => header(m, 'AMIversion') !== undefined).map((m) => m.raw)).toEqual([]);
  });

  it('never sends a client the answer to amiplex\'s own keepalive Ping', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', scripted: {}, server: { keepalive: 0.05, keepalive_timeout: 1 } }],
    });
    const on = await fx.loggedIn('alice', 'on', 'on');
    const off = await fx.loggedIn('alice', 'off', 'off');
    const pbx = fx.pbx('pbx1').scripted!;
    const before = pbx.named('Ping').length;
    await pbx.waitForAction('Ping', 3000, before + 4);
    const mine = await off.action([['Action', 'Ping'], ['ActionID', 'mine']]);
    expect(header(mine, 'Ping')).toBe('Pong');
    expect(fx.proxy.hub.servers.get('pbx1')!.session.state).toBe('up');
    expect(on.messages.map((m) => m.raw).filter((r) => r.startsWith('Response:'))).toEqual([
      'Response: Success\r\nActionID: login-on\r\nMessage: Authentication accepted\r\n\r\n',
    ]);
    expect(off.messages.filter((m) => m.headers[0]?.[0] === 'Response').map((m) => header(m, 'ActionID'))).toEqual(['login-off', 'mine']);
  });
});

describe('what the PBX sends that is not an answer to a client', () => {
  it('never passes on a response whose ActionID amiplex did not send, nor one without ActionID', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const on = await fx.loggedIn('alice', 'on', 'on');
    const off = await fx.loggedIn('alice', 'off', 'off');
    const pbx = fx.pbx('pbx1').scripted!;
    for (const s of pbx.sessions) {
      s.send([['Response', 'Success'], ['ActionID', 'foreign-1'], ['Message', 'not yours']]);
      s.send([['Response', 'Success'], ['Message', 'nobody asked']]);
      s.send([['Response', 'Success'], ['ActionID', 'login-on'], ['Message', 'looks like the client\'s own id']]);
    }
    // A round trip through the same PBX session: everything sent before it has been processed.
    const ping = await on.action([['Action', 'Ping'], ['ActionID', 'sync']]);
    expect(header(ping, 'Ping')).toBe('Pong');
    await off.action([['Action', 'Ping'], ['ActionID', 'sync']]);
    for (const c of [on, off]) {
      expect(c.filter((m) => m.headers[0]?.[0] === 'Response').map((m) => header(m, 'ActionID')), c.label).toEqual([`login-${c.label}`, 'sync']);
    }
  });

  it('passes on an event carrying another session\'s ActionID without that ActionID', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const on = await fx.loggedIn('alice', 'on', 'on');
    for (const s of fx.pbx('pbx1').scripted!.sessions) {
      s.send([['Event', 'OriginateResponse'], ['Privilege', 'call,all'], ['ActionID', '1'], ['Response', 'Success'], ['Channel', 'Local/100@test'], ['Reason', '4']]);
    }
    const ev = await on.waitFor(eventNamed('OriginateResponse'), 3000);
    expect(ev.raw).toBe('Event: OriginateResponse\r\nPrivilege: call,all\r\nResponse: Success\r\nChannel: Local/100@test\r\nReason: 4\r\nServer: pbx1\r\n\r\n');
  });

  it('reads answers split anywhere across TCP writes', async () => {
    const fx = await startFixture({
      pbxes: [{
        name: 'pbx1',
        scripted: {
          respond: (a) => {
            const id = a.headers.find(([n]) => n === 'ActionID')![1];
            const bytes = Buffer.from(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n` +
              `Event: CoreShowChannel\r\nActionID: ${id}\r\nChannel: Local/1@test-1;1\r\n\r\n` +
              `Event: CoreShowChannelsComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 1\r\n\r\n`);
            // One byte at a time, each in its own write.
            let i = 0;
            const next = (): void => {
              if (i >= bytes.length || a.session.socket.destroyed) return;
              a.session.socket.write(bytes.subarray(i, i + 1));
              i++;
              setImmediate(next);
            };
            next();
          },
        },
      }],
    });
    const c = await fx.loggedIn('alice', 'off');
    const list = await c.list([['Action', 'CoreShowChannels'], ['ActionID', 'split']], 5000);
    expect(list.items.map((m) => m.raw)).toEqual(['Event: CoreShowChannel\r\nActionID: split\r\nChannel: Local/1@test-1;1\r\n\r\n']);
    expect(list.complete.raw).toBe('Event: CoreShowChannelsComplete\r\nActionID: split\r\nEventList: Complete\r\nListItems: 1\r\n\r\n');
  });
});

describe('upstream health', () => {
  it('declares a PBX that stops answering keepalives down, then reconnects', async () => {
    let answering = true;
    const fx = await startFixture({
      pbxes: [{
        name: 'pbx1',
        scripted: {
          answerPing: false,
          respond: (a) => {
            const name = a.headers.find(([n]) => n.toLowerCase() === 'action')![1];
            const id = a.headers.find(([n]) => n === 'ActionID')?.[1];
            if (name === 'Ping' && answering && id !== undefined) a.session.send([['Response', 'Success'], ['ActionID', id], ['Ping', 'Pong']]);
          },
        },
        server: { keepalive: 0.1, keepalive_timeout: 0.3 },
      }],
    });
    const c = await fx.loggedIn('alice', 'on');
    const pbx = fx.pbx('pbx1').scripted!;
    await pbx.waitForAction('Ping', 3000, 2);
    expect(c.count(eventNamed('ProxyServerDown'))).toBe(0);
    answering = false;
    const t0 = Date.now();
    const down = await c.waitFor(eventNamed('ProxyServerDown'), 3000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(header(down, 'Server')).toBe('pbx1');
    answering = true;
    const up = await c.waitFor(eventNamed('ProxyServerUp'), 5000, down.index + 1);
    expect(header(up, 'Server')).toBe('pbx1');
    // Each state change was logged.
    const states = fx.logs.map((l) => JSON.parse(l) as { server?: string; state?: string }).filter((l) => l.server === 'pbx1' && l.state);
    expect(states.map((l) => l.state)).toEqual(expect.arrayContaining(['down', 'connecting', 'authenticating', 'up']));
  });

  it('keeps retrying a PBX that refuses amiplex\'s login, with backoff, and says why', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { authFailDelayMs: 0 }, server: { secret: 'wrong', reconnect_min: 0.05, reconnect_max: 0.2 } }],
      waitUp: false,
    });
    const c = await fx.loggedIn('alice', 'off');
    const slot = fx.proxy.hub.servers.get('pbx1')!;
    await waitUntil(() => slot.session.status.lastError !== undefined, 3000, 'a failed upstream login');
    const list = await c.list([['Action', 'ProxyListServers'], ['ActionID', 'pls']]);
    expect(header(list.items[0]!, 'State')).not.toBe('up');
    expect(header(list.items[0]!, 'LastError')).toMatch(/login|auth/i);
    const t0 = Date.now();
    const res = await c.action([['Action', 'Ping'], ['ActionID', 'refused']]);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(res.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'refused']]);
    expect(header(res, 'Message')).toContain('pbx1');
    // Backoff: over one second, a handful of attempts (reconnect_max = 0.2 s), not a tight loop.
    const sim = fx.pbx('pbx1').sim!;
    expect(sim.stats.logins).toBe(0);
    const before = sim.stats.actions;
    const w0 = Date.now();
    await waitUntil(() => Date.now() - w0 >= 1000, 2000, 'a second of retries');
    const attempts = sim.stats.actions - before; // one Login action per attempt
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(25);
  });

  it('logs in to the PBX with an MD5 challenge when authtype = md5', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', server: { authtype: 'md5' } }] });
    const c = await fx.loggedIn('alice', 'off');
    const ping = await c.action([['Action', 'Ping'], ['ActionID', 'md5']]);
    expect(header(ping, 'Ping')).toBe('Pong');
  });
});

describe('limits on actions in flight', () => {
  it('a list the PBX keeps feeding but never completes is cut off after eventlist_timeout; later answers are no longer held', async () => {
    const timers: NodeJS.Timeout[] = [];
    const fx = await startFixture({
      pbxes: [{
        name: 'pbx1',
        scripted: {
          respond: (a) => {
            const id = a.headers.find(([n]) => n === 'ActionID')![1];
            a.session.send([['Response', 'Success'], ['ActionID', id], ['EventList', 'start'], ['Message', 'Channels will follow']]);
            timers.push(setInterval(() => a.session.send([['Event', 'CoreShowChannel'], ['ActionID', id], ['Channel', 'PJSIP/1']]), 50));
          },
        },
      }],
      general: { eventlist_timeout: 1, action_timeout: 0.5 },
    });
    try {
      const c = await fx.loggedIn('alice', 'off');
      const start = Date.now();
      c.sendAction([['Action', 'CoreShowChannels'], ['ActionID', 'endless']]);
      c.sendAction([['Action', 'Ping'], ['ActionID', 'behind']]);
      const cut = await c.waitFor((m) => isResponse(m) && header(m, 'Response') === 'Error', 5000);
      expect(Date.now() - start).toBeGreaterThanOrEqual(900);
      expect(cut.raw).toBe('Response: Error\r\nActionID: endless\r\nMessage: Timeout: server pbx1 did not complete the list of CoreShowChannels within 1 s\r\n\r\n');
      // Items kept coming for longer than action_timeout: each one restarted that wait.
      expect(c.count((m) => header(m, 'Event') === 'CoreShowChannel')).toBeGreaterThan(10);
      const pong = await c.waitFor(responseTo('behind'), 3000);
      expect(header(pong, 'Ping')).toBe('Pong');
      expect(pong.index).toBeGreaterThan(cut.index);
    } finally {
      for (const t of timers) clearInterval(t);
    }
  });

  it('pauses the input of a client with max_pending_actions unanswered: the rest is read once answers come, in order, none refused', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', scripted: {} }],
      general: { max_pending_actions: 3, action_timeout: 0.5 },
    });
    const pbx = fx.pbx('pbx1').scripted!;
    const c = await fx.loggedIn('alice', 'off');
    const other = await fx.loggedIn('alice', 'off', 'other');
    c.send(Array.from({ length: 5 }, (_, i) => `Action: CoreSettings\r\nActionID: a${i + 1}\r\n\r\n`).join(''));
    await pbx.waitForAction('CoreSettings', 3000, 3);
    // The limit is per client: another client is not affected.
    const ping = await other.action([['Action', 'Ping'], ['ActionID', 'other']]);
    expect(header(ping, 'Ping')).toBe('Pong');
    // a4 and a5 stay unread while a1..a3 wait for the (silent) PBX.
    await new Promise((r) => setTimeout(r, 200));
    expect(pbx.named('CoreSettings')).toHaveLength(3);
    // a1..a3 time out; then a4 and a5 are read, sent, and time out in turn. Answers keep the
    // order the actions were sent in, as from one Asterisk session.
    const errors = await c.waitForCount((m) => m.headers[0]?.[0] === 'Response' && header(m, 'Response') === 'Error', 5, 5000);
    expect(errors.map((m) => header(m, 'ActionID'))).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(errors.every((m) => /^Timeout: server pbx1/.test(header(m, 'Message') ?? ''))).toBe(true);
    expect(pbx.named('CoreSettings')).toHaveLength(5);
    for (let i = 1; i <= 5; i++) expect(c.count(responseTo(`a${i}`)), `a${i}`).toBe(1);
    // Then the client may send again.
    const again = await c.action([['Action', 'Ping'], ['ActionID', 'again']]);
    expect(header(again, 'Ping')).toBe('Pong');
  });
});
