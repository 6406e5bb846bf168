/**
 * A reload (what SIGHUP does, called here as `proxy.reload(parseConfig(...))`) on a running
 * proxy with scripted PBXes: servers removed, moved, added and reordered; users removed,
 * added and with servers revoked, for raw AMI clients, HTTP login sessions and SSE streams;
 * settings that only a restart applies named in a warning. And while stopping: a reload is
 * refused, HTTP answers what is in flight and refuses what is new.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import type { ReloadSummary } from '../src/hub.js';
import { eventNamed, header, isEvent, responseTo, type AmiTestClient, type Headers, type Received } from './helpers/ami-test-client.js';
import { sessionCookieOf, startHttpFixture } from './helpers/http-fixture.js';
import {
  fixtureConfigText,
  ScriptedPbx,
  startFixture,
  stopAllFixtures,
  waitUntil,
  type ListenerSpec,
  type ProxyFixture,
  type Settings,
  type UserSpec,
} from './helpers/proxy-fixture.js';

const extraPbxes: ScriptedPbx[] = [];

afterEach(async () => {
  await stopAllFixtures();
  await Promise.allSettled(extraPbxes.splice(0).map((p) => p.stop()));
});

/** A scripted PBX outside the fixture: one a reload adds. */
async function extraPbx(): Promise<{ pbx: ScriptedPbx; port: number }> {
  const pbx = new ScriptedPbx();
  const { port } = await pbx.start();
  extraPbxes.push(pbx);
  return { pbx, port };
}

interface NextConfig {
  /** [server] sections in file order: a fixture PBX by name, or any name with a port. */
  readonly servers: ReadonlyArray<string | { name: string; port: number; server?: Settings }>;
  readonly users: readonly UserSpec[];
  readonly general?: Settings;
  readonly listeners?: readonly ListenerSpec[];
}

function reload(fx: ProxyFixture, next: NextConfig): Promise<ReloadSummary> {
  const servers = next.servers.map((s) => (typeof s === 'string' ? { name: s, port: fx.pbx(s).port } : s));
  const text = fixtureConfigText(servers, next.users, next.general, next.listeners);
  return fx.proxy.reload(parseConfig(text, 'test-proxy.conf'));
}

const scripted = { scripted: {} };

/** Writes an event as PBX `name` of the fixture (its one session with amiplex). */
function emit(fx: ProxyFixture, name: string, hs: Headers): void {
  const [session] = fx.pbx(name).scripted!.sessions;
  session!.send(hs);
}

const userEvent = (name: string): Headers => [['Event', 'UserEvent'], ['Privilege', 'user,all'], ['UserEvent', name]];

const isUserEvent = (name: string) => (m: Received) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === name;

/** A round trip through amiplex: everything sent to this client before it has arrived. */
async function sync(c: AmiTestClient, id: string): Promise<void> {
  await c.action([['Action', 'ProxyListServers'], ['ActionID', id]]);
  await c.waitFor(eventNamed('ProxyListServersComplete', id));
}

/** alice may use pbx1 and pbx2, bob pbx1 only, carol (no servers line) every server of the file. */
const USERS2: readonly UserSpec[] = [{ name: 'alice', servers: ['pbx1', 'pbx2'] }, { name: 'bob', servers: ['pbx1'] }, { name: 'carol' }];

/** Two scripted PBXes and USERS2. */
function startFixture2(): Promise<ProxyFixture> {
  return startFixture({ pbxes: [{ name: 'pbx1', ...scripted }, { name: 'pbx2', ...scripted }], users: USERS2 });
}

const NOTHING: ReloadSummary = { serversAdded: [], serversRemoved: [], serversRestarted: [], clientsDisconnected: 0, restartNeeded: [] };

describe('servers', () => {
  it('a server removed: its clients get ProxyServerDown "server removed from proxy.conf" and errors for what was pending; others see nothing', async () => {
    const fx = await startFixture2();
    const alice = await fx.loggedIn('alice', 'on');
    const bob = await fx.loggedIn('bob', 'on');
    alice.sendAction([['Action', 'CoreSettings'], ['ActionID', 'held'], ['Server', 'pbx2']]);
    await fx.pbx('pbx2').scripted!.waitForAction('CoreSettings');
    const fromBob = bob.messages.length;

    const summary = await reload(fx, { servers: ['pbx1'], users: [{ name: 'alice', servers: ['pbx1'] }, { name: 'bob', servers: ['pbx1'] }] });
    expect(summary).toEqual({ ...NOTHING, serversRemoved: ['pbx2'] });

    const failed = await alice.waitFor(responseTo('held'));
    expect(failed.raw).toBe('Response: Error\r\nActionID: held\r\nMessage: Server pbx2 disconnected: server removed from proxy.conf\r\n\r\n');
    const down = await alice.waitFor(eventNamed('ProxyServerDown'));
    expect(down.headers.slice(0, 4)).toEqual([['Event', 'ProxyServerDown'], ['Privilege', 'system,all'], ['Server', 'pbx2'], ['Reason', 'server removed from proxy.conf']]);
    // The PBX was logged off and left.
    expect(fx.pbx('pbx2').scripted!.named('Logoff')).toHaveLength(1);
    await waitUntil(() => fx.pbx('pbx2').scripted!.sessions.size === 0, 3000, 'pbx2 closed');
    expect([...fx.proxy.hub.servers.keys()]).toEqual(['pbx1']);
    // bob never could use pbx2: nothing about it reached him, and he carries on.
    await sync(bob, 'bob-sync');
    expect(bob.messages.slice(fromBob).filter((m) => isEvent(m) && header(m, 'Server') === 'pbx2')).toEqual([]);
    expect(header(await bob.action([['Action', 'Ping'], ['ActionID', 'b']]), 'Ping')).toBe('Pong');
  });

  it('a server whose settings changed (here: moved to another PBX) is logged off and connected again; the others keep their session', async () => {
    const fx = await startFixture2();
    const alice = await fx.loggedIn('alice', 'on');
    const moved = await extraPbx();
    const users = [{ name: 'alice', servers: ['pbx1', 'pbx2'] }, { name: 'bob', servers: ['pbx1'] }];
    const from = alice.messages.length;

    const summary = await reload(fx, { servers: ['pbx1', { name: 'pbx2', port: moved.port, server: { action_timeout: 7 } }], users });
    expect(summary).toEqual({ ...NOTHING, serversRestarted: ['pbx2'] });

    const down = await alice.waitFor(eventNamed('ProxyServerDown'), 3000, from);
    expect(header(down, 'Server')).toBe('pbx2');
    expect(header(down, 'Reason')).toBe('server settings changed in proxy.conf');
    const up = await alice.waitFor(eventNamed('ProxyServerUp'), 3000, from);
    expect(header(up, 'Server')).toBe('pbx2');
    expect(fx.pbx('pbx2').scripted!.named('Logoff')).toHaveLength(1);
    expect(moved.pbx.named('Login')).toHaveLength(1);
    expect(fx.proxy.hub.servers.get('pbx2')!.config.actionTimeout).toBe(7);
    // Its actions now reach the new PBX.
    expect(header(await alice.action([['Action', 'Ping'], ['ActionID', 'p'], ['Server', 'pbx2']]), 'Ping')).toBe('Pong');
    expect(moved.pbx.named('Ping')).toHaveLength(1);
    // pbx1 was not touched: one login, no logoff, no event about it.
    expect(fx.pbx('pbx1').scripted!.named('Login')).toHaveLength(1);
    expect(fx.pbx('pbx1').scripted!.named('Logoff')).toHaveLength(0);
    expect(alice.messages.slice(from).filter((m) => header(m, 'Server') === 'pbx1')).toEqual([]);
  });

  it('a reload with nothing changed touches nothing', async () => {
    const fx = await startFixture2();
    const alice = await fx.loggedIn('alice', 'on');
    const from = alice.messages.length;
    const summary = await reload(fx, { servers: ['pbx1', 'pbx2'], users: USERS2 });
    expect(summary).toEqual(NOTHING);
    await sync(alice, 's');
    expect(alice.messages.slice(from).filter((m) => isEvent(m) && /^ProxyServer(Up|Down)$/.test(header(m, 'Event')!))).toEqual([]);
    for (const name of ['pbx1', 'pbx2']) expect(fx.pbx(name).scripted!.named('Login')).toHaveLength(1);
    expect(fx.logs.some((l) => l.includes('take effect only after a restart'))).toBe(false);
  });

  it('a server added is connected and usable at once; the order of the file decides the default server', async () => {
    const fx = await startFixture2();
    // carol names no servers: she may use every server of the file, the first one by default.
    const carol = await fx.loggedIn('carol', 'on');
    const added = await extraPbx();
    const summary = await reload(fx, {
      servers: [{ name: 'pbx3', port: added.port }, 'pbx1', 'pbx2'],
      users: USERS2,
    });
    expect(summary).toEqual({ ...NOTHING, serversAdded: ['pbx3'] });
    await fx.waitServerState('pbx3', 'up');
    const up = await carol.waitFor(eventNamed('ProxyServerUp'));
    expect(header(up, 'Server')).toBe('pbx3');
    expect([...fx.proxy.hub.servers.keys()]).toEqual(['pbx3', 'pbx1', 'pbx2']);
    // No Server header: the first server of the new file.
    expect(header(await carol.action([['Action', 'Ping'], ['ActionID', 'd']]), 'Ping')).toBe('Pong');
    expect(added.pbx.named('Ping')).toHaveLength(1);
    expect(fx.pbx('pbx1').scripted!.named('Ping')).toHaveLength(0);
    // Its events reach her.
    added.pbx.sessions.values().next().value!.send(userEvent('from-pbx3'));
    expect(header(await carol.waitFor(isUserEvent('from-pbx3')), 'Server')).toBe('pbx3');
  });
});

describe('users', () => {
  it('raw AMI: a user removed is disconnected, one added logs in, a server revoked is refused and its events stop', async () => {
    const fx = await startFixture2();
    const alice = await fx.loggedIn('alice', 'on');
    const bob = await fx.loggedIn('bob', 'on');
    const carol = await fx.loggedIn('carol', 'on');
    emit(fx, 'pbx2', userEvent('before'));
    expect(header(await alice.waitFor(isUserEvent('before')), 'Server')).toBe('pbx2');

    const summary = await reload(fx, {
      servers: ['pbx1', 'pbx2'],
      users: [{ name: 'alice', servers: ['pbx1'] }, { name: 'bob', servers: ['pbx2'] }, { name: 'dave' }],
    });
    expect(summary).toEqual({ ...NOTHING, clientsDisconnected: 1 });
    await carol.waitClosed();
    expect(fx.logs.some((l) => l.includes('its user was removed from proxy.conf'))).toBe(true);

    // alice may no longer use pbx2: refused on the same connection, and its events no longer come.
    const from = alice.messages.length;
    const denied = await alice.action([['Action', 'Ping'], ['ActionID', 'x'], ['Server', 'pbx2']]);
    expect(denied.raw).toBe('Response: Error\r\nActionID: x\r\nMessage: Permission denied for server pbx2\r\n\r\n');
    emit(fx, 'pbx2', userEvent('after'));
    // bob (who may use pbx2) gets it; by then alice would have too.
    await bob.waitFor(isUserEvent('after'));
    await sync(alice, 'a-sync');
    expect(alice.messages.slice(from).filter(isUserEvent('after'))).toEqual([]);
    // bob's default server is now pbx2 (his first); alice's is still pbx1.
    expect(header(await bob.action([['Action', 'Ping'], ['ActionID', 'b']]), 'Ping')).toBe('Pong');
    expect(fx.pbx('pbx2').scripted!.named('Ping')).toHaveLength(1);
    expect(alice.isOpen).toBe(true);

    const dave = await fx.loggedIn('dave');
    expect(header(await dave.action([['Action', 'Ping'], ['ActionID', 'd']]), 'Ping')).toBe('Pong');
    const carolAgain = await fx.client('carol-again');
    await expect(carolAgain.login('carol', 'carol-secret')).rejects.toThrow(/Authentication failed/);
  });

  it('HTTP: login sessions and event streams of a removed user end; a kept user\'s streams follow its new servers', async () => {
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1', ...scripted }, { name: 'pbx2', ...scripted }, { name: 'pbx3', ...scripted }],
      users: [{ name: 'alice', servers: ['pbx1', 'pbx2'] }, { name: 'carol' }],
    });
    const fx = h.fx;
    const carolCookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=carol&Secret=carol-secret'));
    const aliceCookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    const carolBasic = await h.sse('/events', { auth: 'carol' });
    const carolSession = await h.sse('/events', { cookie: carolCookie });
    const aliceAll = await h.sse('/events', { auth: 'alice' });
    const aliceSome = await h.sse('/events?server=pbx2&server=pbx1', { auth: 'alice' });
    emit(fx, 'pbx2', userEvent('before'));
    for (const s of [carolBasic, carolSession, aliceAll, aliceSome]) await s.waitForCount(1);

    const summary = await reload(fx, {
      servers: ['pbx1', 'pbx2', 'pbx3'],
      users: [{ name: 'alice', servers: ['pbx1', 'pbx3'] }],
      general: { http: '127.0.0.1:0' },
    });
    expect(summary).toEqual(NOTHING);

    // carol: both streams end, her login session is gone, her credentials no longer work.
    await carolBasic.waitFor(() => carolBasic.ended, 3000, 'carol\'s stream to end');
    await carolSession.waitFor(() => carolSession.ended, 3000, 'carol\'s session stream to end');
    expect((await h.get('/rawman?Action=Ping', { cookie: carolCookie })).status).toBe(401);
    expect((await h.get('/rawman?Action=Ping', { auth: 'carol' })).status).toBe(401);
    // alice: her session and streams stay, with her new servers.
    expect(aliceAll.ended).toBe(false);
    expect((await h.get('/rawman?Action=Ping&Server=pbx1', { cookie: aliceCookie })).status).toBe(200);
    expect((await h.get('/rawman?Action=Ping&Server=pbx2', { cookie: aliceCookie })).status).toBe(403);
    emit(fx, 'pbx2', userEvent('revoked'));
    emit(fx, 'pbx3', userEvent('granted'));
    emit(fx, 'pbx1', userEvent('kept'));
    // A stream that named no server follows her servers: pbx3 now, pbx2 no more.
    await aliceAll.waitFor(() => aliceAll.objects().some((o) => o.UserEvent === 'kept'), 3000, 'the kept event');
    expect(aliceAll.objects().map((o) => [o.UserEvent, o.Server])).toEqual([['before', 'pbx2'], ['granted', 'pbx3'], ['kept', 'pbx1']]);
    // A stream that named servers keeps those she may still use.
    await aliceSome.waitFor(() => aliceSome.objects().some((o) => o.UserEvent === 'kept'), 3000, 'the kept event');
    expect(aliceSome.objects().map((o) => o.UserEvent)).toEqual(['before', 'kept']);
  });

  it('HTTP takes the new auth_fail_delay, as raw AMI does', async () => {
    const h = await startHttpFixture({ general: { auth_fail_delay: 0.05 } });
    const timed = async () => {
      const t0 = Date.now();
      expect((await h.get('/rawman?Action=Ping', { auth: 'alice', secret: 'wrong' })).status).toBe(401);
      return Date.now() - t0;
    };
    expect(await timed()).toBeLessThan(400);
    await reload(h.fx, { servers: ['pbx1'], users: [{ name: 'alice' }], general: { http: '127.0.0.1:0', auth_fail_delay: 0.6 } });
    expect(await timed()).toBeGreaterThanOrEqual(550);
  });
});

describe('settings', () => {
  it('names, as proxy.conf keys, the changed settings only a restart applies; the others apply at once', async () => {
    const fx = await startFixture2();
    const summary = await reload(fx, {
      servers: ['pbx1', 'pbx2'],
      users: USERS2,
      general: { banner_version: '9.9.9', http_timeout: 12, sse_replay: 5, deny: '10.0.0.0/8' },
      listeners: [{ name: 'extra', format: 'json' }],
    });
    // deny (permit/deny of the listeners) applies at once: see proxy-acl.test.ts.
    expect(summary.restartNeeded).toEqual(['http_timeout', 'sse_replay', '[listener] sections']);
    const warning = fx.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'these settings changed but take effect only after a restart');
    expect(warning).toMatchObject({ level: 40, settings: ['http_timeout', 'sse_replay', '[listener] sections'] });
    // Not started: still one listener.
    expect(fx.proxy.listeners).toHaveLength(1);
    // banner_version is read for each new connection.
    const c = await fx.client();
    expect(c.banner).toBe('Asterisk Call Manager/9.9.9');
  });
});

describe('while stopping', () => {
  it('a reload is refused and changes nothing', async () => {
    const fx = await startFixture2();
    const alice = await fx.loggedIn('alice');
    alice.sendAction([['Action', 'CoreSettings'], ['ActionID', 'held']]);
    await fx.pbx('pbx1').scripted!.waitForAction('CoreSettings');
    const added = await extraPbx();
    const stopping = fx.proxy.stop();
    await expect(
      reload(fx, { servers: ['pbx1', 'pbx2', { name: 'pbx3', port: added.port }], users: USERS2 }),
    ).rejects.toThrow(/shutting down/);
    await stopping;
    expect(added.pbx.named('Login')).toHaveLength(0);
    expect([...fx.proxy.hub.servers.keys()]).toEqual(['pbx1', 'pbx2']);
  });

  it('HTTP stays open during the drain: a new action gets 502 "amiplex is shutting down", one in flight its answer', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', ...scripted }], general: { shutdown_timeout: 4 } });
    const pbx = h.fx.pbx('pbx1').scripted!;
    const inFlight = h.get('/rawman?Action=CoreSettings&ActionID=c', { auth: 'alice' });
    const [held] = await pbx.waitForAction('CoreSettings');
    const stopping = h.fx.proxy.stop();
    const late = await h.get('/rawman?Action=Ping', { auth: 'alice' });
    expect(late.status).toBe(502);
    expect(late.body).toContain('Message: amiplex is shutting down');
    const id = held!.headers.find(([n]) => n === 'ActionID')![1];
    held!.session.send([['Response', 'Success'], ['ActionID', id], ['AMIversion', '11.0.0']]);
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(answered.body).toBe('Response: Success\r\nActionID: c\r\nAMIversion: 11.0.0\r\n\r\n');
    await stopping;
    expect(pbx.named('Logoff')).toHaveLength(1);
  });
});

