/**
 * Routing between several PBXes: the `Server:` header picks the PBX (and is not forwarded),
 * the default is the user's first server, an unknown or forbidden server is an error and
 * never a fallback; events carry `Server: NAME` (unless the user turned it off); and
 * ProxyListServers lists the servers a user may use.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventNamed,
  hasHeader,
  header,
  headers,
  isEvent,
  type AmiTestClient,
  type Received,
} from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, type FixtureOptions } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const TWO_PBXES: FixtureOptions = {
  pbxes: [{ name: 'pbx1' }, { name: 'pbx2', sim: { extra: { amiVersion: '9.0.0' } } }],
  users: [
    { name: 'alice', servers: ['pbx2', 'pbx1'] }, // default pbx2
    { name: 'bob', servers: ['pbx1'] },
    { name: 'carol', serverHeader: false }, // every server, default pbx1
    { name: 'watcher' }, // every server, sees all events
  ],
};

const userEvent = (name: string) => (m: Received) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === name;

/** Sends a UserEvent and returns the copy a watcher saw: its `Server:` header says which PBX raised it. */
async function raiseUserEvent(sender: AmiTestClient, watcher: AmiTestClient, name: string, server?: string): Promise<{ response: Received; seen: Received }> {
  const hs: Array<[string, string]> = [['Action', 'UserEvent'], ['UserEvent', name]];
  if (server !== undefined) hs.push(['Server', server]);
  hs.push(['Marker', 'after-server'], ['ActionID', `ue-${name}`]);
  const response = await sender.action(hs);
  expect(response.raw).toBe(`Response: Success\r\nActionID: ue-${name}\r\nMessage: Event Sent\r\n\r\n`);
  const seen = await watcher.waitFor(userEvent(name), 3000);
  return { response, seen };
}

describe('Server: routing', () => {
  it('the Server header picks the PBX, the default is the user\'s first server', async () => {
    const fx = await startFixture(TWO_PBXES);
    const alice = await fx.loggedIn('alice', 'off');
    const watcher = await fx.loggedIn('watcher', 'on');

    const viaDefault = await raiseUserEvent(alice, watcher, 'AliceDefault');
    expect(headers(viaDefault.seen, 'Server')).toEqual(['pbx2']);
    const via1 = await raiseUserEvent(alice, watcher, 'AliceToPbx1', 'pbx1');
    expect(headers(via1.seen, 'Server')).toEqual(['pbx1']);
    const via2 = await raiseUserEvent(alice, watcher, 'AliceToPbx2', 'pbx2');
    expect(headers(via2.seen, 'Server')).toEqual(['pbx2']);

    const carol = await fx.loggedIn('carol', 'off');
    const viaCarol = await raiseUserEvent(carol, watcher, 'CarolDefault');
    expect(headers(viaCarol.seen, 'Server')).toEqual(['pbx1']);
  });

  it('CoreSettings answers come from the PBX the Server header names', async () => {
    const fx = await startFixture(TWO_PBXES);
    const c = await fx.loggedIn('watcher', 'off');
    const one = await c.action([['Action', 'CoreSettings'], ['Server', 'pbx1'], ['ActionID', 's1']]);
    const two = await c.action([['Action', 'CoreSettings'], ['Server', 'pbx2'], ['ActionID', 's2']]);
    const dflt = await c.action([['Action', 'CoreSettings'], ['ActionID', 's0']]);
    expect(header(one, 'AMIversion')).toBe('11.0.0');
    expect(header(two, 'AMIversion')).toBe('9.0.0');
    expect(header(dflt, 'AMIversion')).toBe('11.0.0');
  });

  it('does not forward the Server header to the PBX', async () => {
    const fx = await startFixture(TWO_PBXES);
    const alice = await fx.loggedIn('alice', 'off');
    const watcher = await fx.loggedIn('watcher', 'on');
    const aliceOn = await fx.loggedIn('alice', 'on', 'alice-on');
    const { seen } = await raiseUserEvent(aliceOn, watcher, 'NoServerUpstream', 'pbx1');
    // The echo of the PBX repeats every header it got: Server must not be among them.
    const own = await aliceOn.waitFor(userEvent('NoServerUpstream'), 3000);
    expect(own.headers.slice(0, 5)).toEqual([
      ['Event', 'UserEvent'], ['Privilege', 'user,all'], ['UserEvent', 'NoServerUpstream'], ['Marker', 'after-server'], ['ActionID', 'ue-NoServerUpstream'],
    ]);
    expect(headers(own, 'Server').filter((v) => v !== 'pbx1')).toEqual([]);
    expect(seen.headers.slice(0, 4)).toEqual([['Event', 'UserEvent'], ['Privilege', 'user,all'], ['UserEvent', 'NoServerUpstream'], ['Marker', 'after-server']]);
    expect(headers(seen, 'Server')).toEqual(['pbx1']);
    expect(alice.isOpen).toBe(true);
  });

  it('reads the Server header case-insensitively, with blanks around the name', async () => {
    const fx = await startFixture(TWO_PBXES);
    const sender = await fx.loggedIn('watcher', 'on', 'sender');
    const watcher = await fx.loggedIn('watcher', 'on');
    const res = await sender.action([['Action', 'UserEvent'], ['UserEvent', 'LowerCase'], ['server', 'pbx2  '], ['ActionID', 'lc']]);
    expect(header(res, 'Response')).toBe('Success');
    const own = await sender.waitFor(userEvent('LowerCase'), 3000);
    expect(own.headers.filter(([n]) => n.toLowerCase() === 'server')).toEqual([]);
    const seen = await watcher.waitFor(userEvent('LowerCase'), 3000);
    expect(headers(seen, 'Server')).toEqual(['pbx2']);
  });

  it('an unknown server gets Response: Error naming it, and nothing is sent anywhere', async () => {
    const fx = await startFixture(TWO_PBXES);
    const alice = await fx.loggedIn('alice', 'off');
    const watcher = await fx.loggedIn('watcher', 'on');
    const res = await alice.action([['Action', 'UserEvent'], ['UserEvent', 'Lost'], ['Server', 'pbx3'], ['ActionID', 'unk']]);
    expect(res.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'unk']]);
    expect(header(res, 'Message')).toContain('pbx3');
    // A later UserEvent through the default route arrives; the lost one never did.
    await raiseUserEvent(alice, watcher, 'Later');
    expect(watcher.count(userEvent('Lost'))).toBe(0);
  });

  it('a server the user may not use gets an error, never a fallback', async () => {
    const fx = await startFixture(TWO_PBXES);
    const bob = await fx.loggedIn('bob', 'off');
    const watcher = await fx.loggedIn('watcher', 'on');
    const res = await bob.action([['Action', 'UserEvent'], ['UserEvent', 'Forbidden'], ['Server', 'pbx2'], ['ActionID', 'forb']]);
    expect(res.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'forb']]);
    expect(header(res, 'Message')).toContain('pbx2');
    const ok = await raiseUserEvent(bob, watcher, 'Allowed', 'pbx1');
    expect(headers(ok.seen, 'Server')).toEqual(['pbx1']);
    expect(watcher.count(userEvent('Forbidden'))).toBe(0);
  });

  it('delivers events only from the servers a user may use', async () => {
    const fx = await startFixture(TWO_PBXES);
    const bob = await fx.loggedIn('bob', 'on');
    const watcher = await fx.loggedIn('watcher', 'on');
    const sender = await fx.loggedIn('watcher', 'off', 'sender');
    await raiseUserEvent(sender, watcher, 'OnPbx2', 'pbx2');
    await raiseUserEvent(sender, watcher, 'OnPbx1', 'pbx1');
    await bob.waitFor(userEvent('OnPbx1'), 3000);
    expect(bob.count(userEvent('OnPbx2'))).toBe(0);
  });

  it('a user with server_header = no gets events exactly as the PBX sent them', async () => {
    const fx = await startFixture(TWO_PBXES);
    const carol = await fx.loggedIn('carol', 'on');
    const watcher = await fx.loggedIn('watcher', 'on');
    const sender = await fx.loggedIn('watcher', 'off', 'sender');
    await raiseUserEvent(sender, watcher, 'Plain', 'pbx2');
    const seen = await carol.waitFor(userEvent('Plain'), 3000);
    expect(hasHeader(seen, 'Server')).toBe(false);
    expect(seen.raw).toBe('Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: Plain\r\nMarker: after-server\r\n\r\n');
  });

  it('ProxyServerDown/Up events name their server', async () => {
    const fx = await startFixture(TWO_PBXES);
    const watcher = await fx.loggedIn('watcher', 'on');
    const bob = await fx.loggedIn('bob', 'on');
    await fx.pbx('pbx2').stop();
    const down = await watcher.waitFor(eventNamed('ProxyServerDown'), 3000);
    expect(header(down, 'Server')).toBe('pbx2');
    await fx.pbx('pbx2').start();
    const up = await watcher.waitFor(eventNamed('ProxyServerUp'), 5000);
    expect(header(up, 'Server')).toBe('pbx2');
    // bob may not use pbx2: he hears nothing about it.
    const ping = await bob.action([['Action', 'Ping'], ['ActionID', 'b']]);
    expect(header(ping, 'Ping')).toBe('Pong');
    expect(bob.count((m) => isEvent(m) && /^ProxyServer/.test(header(m, 'Event') ?? ''))).toBe(0);
  });
});

describe('ProxyListServers', () => {
  it('lists every server the user may use (and no other), up, with the AMI version', async () => {
    const fx = await startFixture(TWO_PBXES);
    const alice = await fx.loggedIn('alice', 'off');
    const list = await alice.list([['Action', 'ProxyListServers'], ['ActionID', 'pls']]);
    expect(list.response.headers.slice(0, 3)).toEqual([['Response', 'Success'], ['ActionID', 'pls'], ['EventList', 'start']]);
    expect(list.items.map((i) => header(i, 'Server')).sort()).toEqual(['pbx1', 'pbx2']);
    const item = (name: string) => list.items.find((i) => header(i, 'Server') === name)!;
    for (const item of list.items) {
      expect(item.headers.slice(0, 2)).toEqual([['Event', 'ProxyServer'], ['ActionID', 'pls']]);
      expect(header(item, 'State')).toBe('up');
      expect(header(item, 'Host')).toBe('127.0.0.1');
      expect(header(item, 'ConnectedSince')).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(header(item('pbx2'), 'AMIVersion')).toBe('9.0.0');
    expect(header(item('pbx1'), 'AMIVersion')).toBe('11.0.0');
    expect(header(item('pbx2'), 'Port')).toBe(String(fx.pbx('pbx2').port));
    expect(header(item('pbx1'), 'Port')).toBe(String(fx.pbx('pbx1').port));
    // alice's default is her first server.
    expect(header(item('pbx2'), 'Default')).toBe('Yes');
    expect(header(item('pbx1'), 'Default')).toBe('No');
    expect(list.complete.headers.slice(0, 4)).toEqual([
      ['Event', 'ProxyListServersComplete'], ['ActionID', 'pls'], ['EventList', 'Complete'], ['ListItems', '2'],
    ]);

    const bob = await fx.loggedIn('bob', 'off');
    const bobs = await bob.list([['Action', 'ProxyListServers'], ['ActionID', 'pls']]);
    expect(bobs.items.map((i) => header(i, 'Server'))).toEqual(['pbx1']);
    expect(header(bobs.complete, 'ListItems')).toBe('1');
  });

  it('shows a server that is down as such', async () => {
    const fx = await startFixture(TWO_PBXES);
    const c = await fx.loggedIn('watcher', 'off');
    await fx.pbx('pbx2').stop();
    // Ask until amiplex has noticed (it may take a moment to see the connection drop).
    const deadline = Date.now() + 3000;
    let state = '';
    while (Date.now() < deadline) {
      const list = await c.list([['Action', 'ProxyListServers'], ['ActionID', `pls-${Date.now()}`]]);
      state = header(list.items.find((i) => header(i, 'Server') === 'pbx2')!, 'State') ?? '';
      if (state !== 'up') break;
    }
    expect(['down', 'connecting']).toContain(state);
    const res = await c.action([['Action', 'Ping'], ['Server', 'pbx2'], ['ActionID', 'p2']]);
    expect(res.headers.slice(0, 2)).toEqual([['Response', 'Error'], ['ActionID', 'p2']]);
    expect(header(res, 'Message')).toContain('pbx2');
  });
});
