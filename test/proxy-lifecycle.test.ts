/**
 * The whole life of a raw AMI client connected to amiplex, as it would be with Asterisk:
 * banner, Login (plain and MD5), failed logins, actions before login, a second Login,
 * Events at login and the Events action, and Logoff (which never closes the upstream).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventNamed,
  header,
  isEvent,
  md5Key,
  responseTo,
  type AmiTestClient,
  type Received,
} from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const BANNER = 'Asterisk Call Manager/11.0.0\r\n';

/** Call events from the simulator's traffic (not amiplex's own, not FullyBooted). */
const trafficEvent = (m: Received): boolean => isEvent(m) && !isEvent(m, 'FullyBooted') && header(m, 'ActionID') === undefined;

describe('banner and login', () => {
  it('sends exactly the banner of the PBX, then nothing before the login response', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 40 } }] });
    const c = await fx.client();
    expect(c.rawText()).toBe(BANNER);
    c.sendAction([['Action', 'Login'], ['ActionID', 'l'], ['Username', 'alice'], ['Secret', 'alice-secret']]);
    await c.waitFor(eventNamed('FullyBooted'));
    expect(c.rawText().startsWith(
      BANNER + 'Response: Success\r\nActionID: l\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\n',
    )).toBe(true);
    expect(c.messages[0]!.raw).toBe('Response: Success\r\nActionID: l\r\nMessage: Authentication accepted\r\n\r\n');
    expect(c.messages[1]!.headers.map(([n]) => n)).toEqual(['Event', 'Privilege', 'Uptime', 'LastReload', 'Status']);
    expect(header(c.messages[1]!, 'Status')).toBe('Fully Booted');
  });

  it('announces the AMI version the PBX announced', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { extra: { amiVersion: '7.0.2' } } }] });
    const c = await fx.client();
    expect(c.rawText()).toBe('Asterisk Call Manager/7.0.2\r\n');
  });

  it('answers a wrong secret after auth_fail_delay with Authentication failed, then closes', async () => {
    const fx = await startFixture({ general: { auth_fail_delay: 0.3 } });
    const c = await fx.client();
    const t0 = Date.now();
    c.sendAction([['Action', 'Login'], ['ActionID', 'bad-1'], ['Username', 'alice'], ['Secret', 'wrong']]);
    const res = await c.waitFor(responseTo('bad-1'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(res.raw).toBe('Response: Error\r\nActionID: bad-1\r\nMessage: Authentication failed\r\n\r\n');
    await c.waitClosed();
    expect(c.messages).toHaveLength(1);
  });

  it('answers an unknown user the same way as a wrong secret', async () => {
    const fx = await startFixture({ general: { auth_fail_delay: 0.3 } });
    const c = await fx.client();
    const t0 = Date.now();
    c.sendAction([['Action', 'Login'], ['ActionID', 'bad-2'], ['Username', 'nobody'], ['Secret', 'alice-secret']]);
    const res = await c.waitFor(responseTo('bad-2'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(res.raw).toBe('Response: Error\r\nActionID: bad-2\r\nMessage: Authentication failed\r\n\r\n');
    await c.waitClosed();
  });

  it('ignores actions pipelined behind a failed login (the session is closing)', async () => {
    const fx = await startFixture({ general: { auth_fail_delay: 0.2 } });
    const c = await fx.client();
    c.sendAction([['Action', 'Login'], ['ActionID', 'bad'], ['Username', 'alice'], ['Secret', 'nope']]);
    c.sendAction([['Action', 'Login'], ['ActionID', 'good'], ['Username', 'alice'], ['Secret', 'alice-secret']]);
    await c.waitClosed();
    expect(c.messages.map((m) => m.raw)).toEqual(['Response: Error\r\nActionID: bad\r\nMessage: Authentication failed\r\n\r\n']);
  });

  it('logs in with Challenge and an MD5 key', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    const ch = await c.action([['Action', 'Challenge'], ['AuthType', 'MD5'], ['ActionID', 'ch']]);
    expect(ch.headers.slice(0, 2)).toEqual([['Response', 'Success'], ['ActionID', 'ch']]);
    const challenge = header(ch, 'Challenge');
    expect(challenge).toMatch(/^\d+$/);
    const res = await c.action([
      ['Action', 'Login'], ['AuthType', 'MD5'], ['Username', 'alice'],
      ['Key', md5Key(challenge!, 'alice-secret')], ['ActionID', 'md5-login'], ['Events', 'off'],
    ]);
    expect(res.raw).toBe('Response: Success\r\nActionID: md5-login\r\nMessage: Authentication accepted\r\n\r\n');
    const ping = await c.action([['Action', 'Ping'], ['ActionID', 'p']]);
    expect(header(ping, 'Ping')).toBe('Pong');
  });

  it('refuses an MD5 login with a wrong key', async () => {
    const fx = await startFixture({ general: { auth_fail_delay: 0.1 } });
    const c = await fx.client();
    const ch = await c.action([['Action', 'Challenge'], ['AuthType', 'MD5'], ['ActionID', 'ch']]);
    const res = await c.action([
      ['Action', 'Login'], ['AuthType', 'MD5'], ['Username', 'alice'],
      ['Key', md5Key(header(ch, 'Challenge')!, 'not-the-secret')], ['ActionID', 'md5-bad'],
    ]);
    expect(res.raw).toBe('Response: Error\r\nActionID: md5-bad\r\nMessage: Authentication failed\r\n\r\n');
    await c.waitClosed();
  });

  it('answers actions before login with Permission denied and keeps the session', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    const ping = await c.action([['Action', 'Ping'], ['ActionID', 'pre-ping']]);
    expect(ping.raw).toBe('Response: Error\r\nActionID: pre-ping\r\nMessage: Permission denied\r\n\r\n');
    const cs = await c.action([['Action', 'CoreSettings'], ['ActionID', 'pre-cs']]);
    expect(cs.raw).toBe('Response: Error\r\nActionID: pre-cs\r\nMessage: Permission denied\r\n\r\n');
    expect(c.isOpen).toBe(true);
    await c.login('alice', 'alice-secret', 'off');
    const after = await c.action([['Action', 'Ping'], ['ActionID', 'post-ping']]);
    expect(after.headers.slice(0, 3)).toEqual([['Response', 'Success'], ['ActionID', 'post-ping'], ['Ping', 'Pong']]);
  });

  it('answers a second Login with Already authenticated', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const again = await c.action([['Action', 'Login'], ['ActionID', 'second'], ['Username', 'alice'], ['Secret', 'alice-secret']]);
    expect(again.raw).toBe('Response: Success\r\nActionID: second\r\nMessage: Already authenticated\r\n\r\n');
    expect(c.isOpen).toBe(true);
  });

  it('accepts lower-case action and header names (action: login)', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    const res = await c.action([['action', 'login'], ['actionid', 'lc'], ['username', 'alice'], ['secret', 'alice-secret'], ['events', 'off']]);
    expect(res.raw).toBe('Response: Success\r\nActionID: lc\r\nMessage: Authentication accepted\r\n\r\n');
  });
});

describe('session housekeeping', () => {
  it('announces banner_version when configured', async () => {
    const fx = await startFixture({ general: { banner_version: '5.0.0' } });
    const c = await fx.client();
    expect(c.rawText()).toBe('Asterisk Call Manager/5.0.0\r\n');
  });

  it('takes a Login and an action pipelined in one write', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    c.send('Action: Login\r\nUsername: alice\r\nSecret: alice-secret\r\nEvents: off\r\nActionID: l\r\n\r\nAction: Ping\r\nActionID: p\r\n\r\n');
    const pong = await c.waitFor(responseTo('p'));
    expect(pong.headers.slice(0, 3)).toEqual([['Response', 'Success'], ['ActionID', 'p'], ['Ping', 'Pong']]);
    expect(c.messages[0]!.raw).toBe('Response: Success\r\nActionID: l\r\nMessage: Authentication accepted\r\n\r\n');
  });

  it('closes a connection that does not log in within authtimeout, silently', async () => {
    const fx = await startFixture({ general: { authtimeout: 0.3 } });
    const idle = await fx.client('idle');
    const partial = await fx.client('partial');
    partial.send('Action: Login\r\nUsername: alice\r\n');
    const loggedIn = await fx.loggedIn('alice', 'off', 'logged-in');
    const t0 = Date.now();
    await idle.waitClosed(3000);
    await partial.waitClosed(3000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(idle.messages).toEqual([]);
    expect(partial.messages).toEqual([]);
    // A logged-in client is not subject to authtimeout.
    const ping = await loggedIn.action([['Action', 'Ping'], ['ActionID', 'alive']]);
    expect(header(ping, 'Ping')).toBe('Pong');
  });

  it('answers an unknown Proxy* action like an unknown action', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const res = await c.action([['Action', 'ProxyNoSuchThing'], ['ActionID', 'pn']]);
    expect(res.raw).toBe('Response: Error\r\nActionID: pn\r\nMessage: Invalid/unknown command: ProxyNoSuchThing. Use Action: ListCommands to show available commands.\r\n\r\n');
  });

  it('forgets closed clients (no session left behind)', async () => {
    const fx = await startFixture();
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => fx.loggedIn('alice', 'off', `c${i}`)));
    expect(fx.proxy.hub.clients.size).toBe(20);
    await Promise.all(clients.map((c) => c.close()));
    await waitUntil(() => fx.proxy.hub.clients.size === 0, 3000, 'amiplex to forget every closed client');
  });
});

describe('stopping amiplex', () => {
  it('answers pending actions with an error, closes clients and logs off the PBX', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', scripted: {} }] });
    const c = await fx.loggedIn('alice', 'off');
    c.sendAction([['Action', 'CoreSettings'], ['ActionID', 'pending']]);
    const pbx = fx.pbx('pbx1').scripted!;
    await pbx.waitForAction('CoreSettings');
    await fx.proxy.stop();
    await c.waitClosed(3000);
    const res = c.messages.find(responseTo('pending'));
    expect(res, c.dump()).toBeDefined();
    expect(header(res!, 'Response')).toBe('Error');
    expect(pbx.named('Logoff')).toHaveLength(1);
  });
});

describe('Logoff', () => {
  it('answers Goodbye and closes that client only; the PBX session and other clients stay', async () => {
    const fx = await startFixture();
    const a = await fx.loggedIn('alice', 'off', 'a');
    const b = await fx.loggedIn('alice', 'off', 'b');
    const slot = fx.proxy.hub.servers.get('pbx1')!;
    const upSince = slot.upSince;
    const bye = await a.action([['Action', 'Logoff'], ['ActionID', 'bye']]);
    expect(bye.raw).toBe('Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish.\r\n\r\n');
    await a.waitClosed();
    const ping = await b.action([['Action', 'Ping'], ['ActionID', 'still-here']]);
    expect(header(ping, 'Ping')).toBe('Pong');
    expect(slot.session.state).toBe('up');
    expect(slot.upSince).toBe(upSince);
    expect(slot.session.status.reconnects).toBe(0);
  });

  it('answers actions pipelined before a Logoff before saying Goodbye (a script piped into nc)', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    c.send(
      'Action: Login\r\nUsername: alice\r\nSecret: alice-secret\r\nActionID: l\r\nEvents: off\r\n\r\n' +
        'Action: CoreSettings\r\nActionID: cs\r\n\r\n' +
        'Action: Ping\r\nActionID: p\r\n\r\n' +
        'Action: Logoff\r\nActionID: bye\r\n\r\n',
    );
    await c.waitClosed();
    expect(c.messages.map((m) => m.headers.find(([n]) => n === 'ActionID')?.[1]), c.dump()).toEqual(['l', 'cs', 'p', 'bye']);
    expect(header(c.messages[1]!, 'AMIversion')).toBe('11.0.0');
    expect(c.messages.at(-1)!.raw).toBe('Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish.\r\n\r\n');
  });

  it('answers a pipelined synchronous Originate before the Goodbye (capture 14)', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    c.send(
      'Action: Login\r\nUsername: alice\r\nSecret: alice-secret\r\nActionID: l\r\nEvents: off\r\n\r\n' +
        'Action: Originate\r\nChannel: Local/100@test\r\nApplication: Wait\r\nData: 1\r\nActionID: sync-ok\r\n\r\n' +
        'Action: Logoff\r\n\r\n',
    );
    await c.waitClosed(5000);
    expect(c.messages.map((m) => m.raw), c.dump()).toEqual([
      'Response: Success\r\nActionID: l\r\nMessage: Authentication accepted\r\n\r\n',
      'Response: Success\r\nActionID: sync-ok\r\nMessage: Originate successfully queued\r\n\r\n',
      'Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n',
    ]);
  });

  it('answers Logoff without ActionID with no ActionID header', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const from = c.messages.length;
    c.sendAction([['Action', 'Logoff']]);
    await c.waitClosed();
    expect(c.messages.slice(from).map((m) => m.raw)).toEqual(['Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n']);
  });

  it('lets a client log off before logging in', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    const bye = await c.action([['Action', 'Logoff'], ['ActionID', 'early']]);
    expect(bye.raw).toBe('Response: Goodbye\r\nActionID: early\r\nMessage: Thanks for all the fish.\r\n\r\n');
    await c.waitClosed();
  });
});

describe('events at login and the Events action', () => {
  /** Waits until `reference` has seen `n` traffic events since `from`. */
  async function trafficSeen(reference: AmiTestClient, n: number, from = reference.messages.length): Promise<void> {
    await reference.waitForCount(trafficEvent, n, 5000, from, `${n} call events from the simulator`);
  }

  it('sends events to a client that sent no Events header', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 100 } }] });
    const c = await fx.client();
    await c.action([['Action', 'Login'], ['ActionID', 'l'], ['Username', 'alice'], ['Secret', 'alice-secret']]);
    await c.waitFor(eventNamed('FullyBooted'));
    await trafficSeen(c, 3);
  });

  it('sends no FullyBooted and no events after Events: off at login', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 100 } }] });
    const off = await fx.loggedIn('alice', 'off', 'off');
    const on = await fx.loggedIn('alice', 'on', 'on');
    await trafficSeen(on, 10);
    expect(off.messages.map((m) => m.raw)).toEqual([
      'Response: Success\r\nActionID: login-off\r\nMessage: Authentication accepted\r\n\r\n',
    ]);
  });

  it('turns events off and on with Action: Events, answering Events: Off / Events: On', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 100 } }] });
    const c = await fx.loggedIn('alice', 'on', 'c');
    const ref = await fx.loggedIn('alice', 'on', 'ref');
    await trafficSeen(c, 2);

    const off = await c.action([['Action', 'Events'], ['EventMask', 'off'], ['ActionID', 'evm-off']]);
    expect(off.raw).toBe('Response: Success\r\nActionID: evm-off\r\nEvents: Off\r\n\r\n');
    const mark = c.messages.length;
    await trafficSeen(ref, 10);
    expect(c.filter(isEvent, mark).map((m) => m.raw)).toEqual([]);

    const on = await c.action([['Action', 'Events'], ['EventMask', 'on'], ['ActionID', 'evm-on']]);
    expect(on.raw).toBe('Response: Success\r\nActionID: evm-on\r\nEvents: On\r\n\r\n');
    await trafficSeen(c, 3, on.index + 1);
  });

  it('Events with a class list delivers only those classes', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 200 } }] });
    const c = await fx.loggedIn('alice', 'off', 'c');
    const ref = await fx.loggedIn('alice', 'on', 'ref');
    const res = await c.action([['Action', 'Events'], ['EventMask', 'dialplan'], ['ActionID', 'evm-dialplan']]);
    expect(res.raw).toBe('Response: Success\r\nActionID: evm-dialplan\r\nEvents: On\r\n\r\n');
    const mark = ref.messages.length;
    await c.waitForCount(isEvent, 5, 5000, res.index + 1, '5 dialplan events');
    const dialplan = (m: Received) => /(^|,)dialplan(,|$)/.test(header(m, 'Privilege') ?? '');
    // The reference client got other classes meanwhile; the masked one only dialplan events.
    await ref.waitFor((m) => trafficEvent(m) && !dialplan(m), 5000, mark);
    expect(c.filter(isEvent, res.index + 1).filter((m) => !dialplan(m)).map((m) => m.raw)).toEqual([]);
  });

  it('treats an unknown Events value as on', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 100 } }] });
    const c = await fx.loggedIn('alice', 'bogus-value', 'c');
    await c.waitFor(eventNamed('FullyBooted'));
    await trafficSeen(c, 2);
  });

  it('tags unsolicited events with one Server: NAME header', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 100 } }] });
    const c = await fx.loggedIn('alice', 'on');
    const events = await c.waitForCount(trafficEvent, 5, 5000);
    for (const e of events) {
      expect(e.headers[0]![0]).toBe('Event');
      expect(e.headers.filter(([n]) => n.toLowerCase() === 'server')).toEqual([['Server', 'pbx1']]);
      expect(e.raw).toContain('\r\nServer: pbx1\r\n');
    }
  });
});
