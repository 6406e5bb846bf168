/**
 * A reload (what SIGHUP does: `proxy.reload(parseConfig(...))`) and access control, over real
 * sockets: a revoked action permission applies to connected clients at once — before the
 * Logoffs of removed servers have been answered; a removed user is logged off; a user's
 * tightened permit/deny disconnects its raw clients whose address no longer passes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { AmiTestClient, eventNamed, header } from './helpers/ami-test-client.js';
import { ECHO_PBX, logRecords } from './helpers/access-logs.js';
import { sessionCookieOf, startHttpFixture } from './helpers/http-fixture.js';
import { fixtureConfigText, startFixture, stopAllFixtures, waitUntil, type ProxyFixture, type UserSpec } from './helpers/proxy-fixture.js';

const extra: AmiTestClient[] = [];
afterEach(async () => {
  await Promise.allSettled(extra.splice(0).map((c) => c.close()));
  await stopAllFixtures();
});

function reload(fx: ProxyFixture, servers: readonly string[], users: readonly UserSpec[]) {
  const text = fixtureConfigText(servers.map((name) => ({ name, port: fx.pbx(name).port })), users);
  return fx.proxy.reload(parseConfig(text, 'test-proxy.conf'));
}

const command = (id: string) => [['Action', 'Command'], ['ActionID', id], ['Command', 'core show version']] as const;

describe('reload and permissions', () => {
  it('a revoked action is refused to connected clients at once, before a removed server has answered its Logoff', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }, { name: 'pbx2', scripted: {} }], users: [{ name: 'alice' }] });
    const c = await fx.loggedIn('alice');
    expect(header(await c.action(command('before')), 'Response')).toBe('Success');
    // pbx2 stops reading: its Logoff goes unanswered, so removing it takes amiplex's whole Logoff wait.
    for (const s of fx.pbx('pbx2').scripted!.sessions) s.socket.pause();
    let reloadedAt = 0;
    const reloading = reload(fx, ['pbx1'], [{ name: 'alice', settings: { deny_actions: 'Command' } }]).then((summary) => {
      reloadedAt = Date.now();
      return summary;
    });
    const refused = await c.action(command('after'));
    expect(refused.raw).toBe('Response: Error\r\nActionID: after\r\nMessage: Permission denied\r\n\r\n');
    const down = await c.waitFor(eventNamed('ProxyServerDown'));
    expect(header(down, 'Server')).toBe('pbx2');
    expect(header(down, 'Reason')).toBe('server removed from proxy.conf');
    expect(reloadedAt, 'answered while the reload still waited for the Logoff').toBe(0);
    const summary = await reloading;
    expect(summary.serversRemoved).toEqual(['pbx2']);
    expect(c.count(eventNamed('ProxyServerDown'))).toBe(1);
    expect(fx.pbx('pbx1').scripted!.named('Command')).toHaveLength(1);
  });

  it('an action allowed again by a reload goes through on the same connection', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users: [{ name: 'alice', settings: { actions: 'Ping' } }] });
    const c = await fx.loggedIn('alice');
    expect(header(await c.action(command('1')), 'Message')).toBe('Permission denied');
    await reload(fx, ['pbx1'], [{ name: 'alice', settings: { actions: 'Ping, Command' } }]);
    expect(header(await c.action(command('2')), 'Response')).toBe('Success');
  });

  it('a removed user is logged off; other users stay', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users: [{ name: 'alice' }, { name: 'bob' }] });
    const a = await fx.loggedIn('alice');
    const b = await fx.loggedIn('bob');
    const summary = await reload(fx, ['pbx1'], [{ name: 'bob' }]);
    expect(summary.clientsDisconnected).toBe(1);
    await a.waitClosed();
    expect(header(await b.action([['Action', 'Ping'], ['ActionID', 'p']]), 'Response')).toBe('Success');
    // And it can no longer log in.
    const again = await fx.client();
    const r = await again.action([['Action', 'Login'], ['ActionID', 'l'], ['Username', 'alice'], ['Secret', 'alice-secret']]);
    expect(header(r, 'Message')).toBe('Authentication failed');
  });

  it("a tightened permit/deny disconnects the user's raw clients whose address no longer passes, and only those", async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users: [{ name: 'alice' }, { name: 'bob' }] });
    const fromOne = await fx.loggedIn('alice');
    const fromTwo = await AmiTestClient.connect(fx.port, fx.host, { localAddress: '127.0.0.2', label: 'alice2' });
    extra.push(fromTwo);
    await fromTwo.login('alice', 'alice-secret');
    const bob = await fx.loggedIn('bob');
    const summary = await reload(fx, ['pbx1'], [{ name: 'alice', lines: ['deny = 127.0.0.1/32', 'permit = 127.0.0.0/8'] }, { name: 'bob', lines: ['permit = 127.0.0.1'] }]);
    expect(summary.clientsDisconnected).toBe(1);
    await fromOne.waitClosed();
    expect(header(await fromTwo.action([['Action', 'Ping'], ['ActionID', 'p2']]), 'Response')).toBe('Success');
    expect(header(await bob.action([['Action', 'Ping'], ['ActionID', 'p3']]), 'Response')).toBe('Success');
    const logged = logRecords(fx.logs).filter((l) => l.msg === 'client disconnected by amiplex');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.reason).toBe("its address is no longer allowed by its user's permit/deny");
  });

  it("a tightened permit/deny refuses the user's HTTP login session at its next use and ends its event streams", async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users: [{ name: 'alice' }, { name: 'bob' }] });
    const cookie = sessionCookieOf(await h.get('/rawman?Action=Login&Username=alice&Secret=alice-secret'));
    expect((await h.get('/rawman?Action=Ping', { cookie })).body).toMatch(/^Response: Success\r\n/);
    const aliceStream = await h.sse('/events', { auth: 'alice' });
    const bobStream = await h.sse('/events', { auth: 'bob' });
    await waitUntil(() => h.fx.proxy.hub.servers.get('pbx1')?.session.state === 'up', 3000, 'pbx1 up');
    const text = fixtureConfigText([{ name: 'pbx1', port: h.fx.pbx('pbx1').port }], [{ name: 'alice', lines: ['deny = 127.0.0.1/32'] }, { name: 'bob' }]);
    await h.fx.proxy.reload(parseConfig(text, 'test-proxy.conf'));
    const refused = await h.get('/rawman?Action=Ping', { cookie });
    expect(refused.status).toBe(401);
    expect(refused.body).toContain("not allowed by the user's permit/deny");
    await waitUntil(() => aliceStream.ended, 3000, "alice's event stream to end");
    expect(bobStream.ended).toBe(false);
    bobStream.close();
  });
});
