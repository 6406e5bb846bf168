/**
 * Signals, on the real process (`node dist/src/cli.js --config FILE`) with scripted PBXes in
 * the test process:
 * - SIGTERM stops gracefully: listeners close at once (a new connection is refused), new actions
 *   are refused, an answer the PBX gives during the drain reaches its client, what is still
 *   unanswered gets an error naming the shutdown, each PBX is logged off, exit code 0 within
 *   shutdown_timeout (the one in force, a reload included). SIGINT does the same.
 * - A second SIGTERM (or SIGINT) during the drain exits at once with code 1, without logging off.
 * - SIGHUP reloads proxy.conf: users added and removed, servers revoked, added and removed take
 *   effect on connected clients while other connections stay up; a broken file is refused with
 *   every error as FILE:LINE and the running config stays.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AmiTestClient, eventNamed, header, responseTo, type Received } from './helpers/ami-test-client.js';
import { startCli, stopAllCliProcesses, type CliProcess, type LogLine } from './helpers/cli-process.js';
import { fixtureConfigText, ScriptedPbx, waitUntil, type ReceivedAction, type Settings, type UserSpec } from './helpers/proxy-fixture.js';

const pbxes: ScriptedPbx[] = [];
const clients: AmiTestClient[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await stopAllCliProcesses();
  await Promise.allSettled(pbxes.splice(0).map((p) => p.stop()));
});

/** A PBX that answers Login, Logoff and Ping, and holds every other action until the test answers it. */
async function scripted(): Promise<{ pbx: ScriptedPbx; port: number }> {
  const pbx = new ScriptedPbx();
  const { port } = await pbx.start();
  pbxes.push(pbx);
  return { pbx, port };
}

function configText(servers: Record<string, number>, users: readonly UserSpec[], general: Settings = {}): string {
  return fixtureConfigText(Object.entries(servers).map(([name, port]) => ({ name, port })), users, general);
}

async function connect(p: CliProcess, label: string): Promise<AmiTestClient> {
  const c = await AmiTestClient.connect(p.port, p.host, { label });
  clients.push(c);
  return c;
}

async function loggedIn(p: CliProcess, user: string, events = 'off'): Promise<AmiTestClient> {
  const c = await connect(p, user);
  await c.login(user, `${user}-secret`, events);
  return c;
}

async function waitUp(p: CliProcess, ...names: string[]): Promise<void> {
  for (const name of names) await p.waitForLog((l) => l.msg === `PBX ${name} is up`, 5000, 0, `PBX ${name} up`);
}

/** Sends SIGHUP and waits for the outcome: the "configuration reloaded" line (or, with `refused`, the "NOT reloaded" one). */
async function hangup(p: CliProcess, refused = false): Promise<LogLine> {
  const from = p.logs().length;
  p.kill('SIGHUP');
  const done = (l: LogLine) => l.msg === 'configuration reloaded' || /NOT reloaded/.test(l.msg ?? '') || l.msg === 'reload failed';
  const outcome = await p.waitForLog(done, 5000, from, 'the outcome of SIGHUP');
  expect(outcome.msg, p.stderr()).toMatch(refused ? /NOT reloaded/ : /^configuration reloaded$/);
  return outcome;
}

const actionIdOf = (a: ReceivedAction): string => a.headers.find(([n]) => n.toLowerCase() === 'actionid')![1];

const ping = (id: string, server?: string): Array<[string, string]> =>
  server === undefined ? [['Action', 'Ping'], ['ActionID', id]] : [['Action', 'Ping'], ['ActionID', id], ['Server', server]];

const pong = (m: Received) => header(m, 'Response') === 'Success' && header(m, 'Ping') === 'Pong';

describe('SIGTERM', () => {
  it('answers what the PBX answers during the drain, errors the rest, logs off each PBX and exits 0 within shutdown_timeout', async () => {
    const a = await scripted();
    const b = await scripted();
    const p = await startCli(configText({ pbx1: a.port, pbx2: b.port }, [{ name: 'alice' }], { shutdown_timeout: 4 }));
    await waitUp(p, 'pbx1', 'pbx2');
    const c = await loggedIn(p, 'alice');
    c.sendAction([['Action', 'CoreSettings'], ['ActionID', 'one'], ['Server', 'pbx1']]);
    c.sendAction([['Action', 'CoreStatus'], ['ActionID', 'two'], ['Server', 'pbx2']]);
    const [one] = await a.pbx.waitForAction('CoreSettings');
    await b.pbx.waitForAction('CoreStatus');

    const signalled = Date.now();
    p.kill('SIGTERM');
    await p.waitForLog((l) => l.msg === 'amiplex stopping');
    // Listeners are closed at once: nobody new gets in during the drain.
    await expect(AmiTestClient.connect(p.port, p.host, { label: 'late' })).rejects.toThrow(/ECONNREFUSED/);
    // A new action on a connected client is refused (its answer keeps its place after one and two).
    c.sendAction([['Action', 'CoreSettings'], ['ActionID', 'three'], ['Server', 'pbx1']]);
    // pbx1 answers during the drain: the client gets that real answer.
    one!.session.send([['Response', 'Success'], ['ActionID', actionIdOf(one!)], ['AMIversion', '11.0.0']]);
    const answered = await c.waitFor(responseTo('one'));
    expect(answered.raw).toBe('Response: Success\r\nActionID: one\r\nAMIversion: 11.0.0\r\n\r\n');
    expect(p.child.exitCode).toBe(null);

    // pbx2 never answers: past half of shutdown_timeout its action gets an error naming the shutdown.
    const failed = await c.waitFor(responseTo('two'), 5000);
    expect(failed.raw).toBe('Response: Error\r\nActionID: two\r\nMessage: Server pbx2 disconnected: amiplex is shutting down\r\n\r\n');
    const refused = await c.waitFor(responseTo('three'));
    expect(refused.raw).toBe('Response: Error\r\nActionID: three\r\nMessage: amiplex is shutting down\r\n\r\n');
    expect(failed.index).toBeLessThan(refused.index);
    await c.waitClosed(5000);

    const exit = await p.exited;
    expect(exit.code, p.stderr()).toBe(0);
    expect(exit.at - signalled).toBeLessThan(4000);
    // Each PBX got a Logoff, after which amiplex never wrote to it again.
    for (const { pbx } of [a, b]) {
      expect(pbx.named('Logoff')).toHaveLength(1);
      expect(pbx.actions.at(-1)!.headers[0]).toEqual(['Action', 'Logoff']);
    }
    // The action refused during the drain never reached pbx1.
    expect(a.pbx.named('CoreSettings')).toHaveLength(1);
    const warned = p.logs().find((l) => l.msg?.startsWith('shutting down with actions still unanswered'));
    expect(warned?.pending).toBe(1);
    expect(p.logs().at(-1)!.msg).toBe('amiplex stopped');
  });

  it('SIGINT stops the same way: nothing pending, each PBX logged off, exit 0', async () => {
    const a = await scripted();
    const p = await startCli(configText({ pbx1: a.port }, [{ name: 'alice' }], { shutdown_timeout: 4 }));
    await waitUp(p, 'pbx1');
    const c = await loggedIn(p, 'alice');
    const t0 = Date.now();
    p.kill('SIGINT');
    await c.waitClosed(5000);
    const exit = await p.exited;
    expect(exit.code, p.stderr()).toBe(0);
    // Nothing in flight: no waiting for the drain.
    expect(exit.at - t0).toBeLessThan(2000);
    expect(a.pbx.named('Logoff')).toHaveLength(1);
  });

  it('a second SIGTERM during the drain exits at once with code 1, without logging off', async () => {
    const a = await scripted();
    const p = await startCli(configText({ pbx1: a.port }, [{ name: 'alice' }], { shutdown_timeout: 60 }));
    await waitUp(p, 'pbx1');
    const c = await loggedIn(p, 'alice');
    c.sendAction([['Action', 'CoreSettings'], ['ActionID', 'held']]);
    await a.pbx.waitForAction('CoreSettings');
    p.kill('SIGTERM');
    await p.waitForLog((l) => l.msg === 'amiplex stopping');
    // The drain would wait up to 30 s for the held action.
    const t0 = Date.now();
    p.kill('SIGTERM');
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - t0).toBeLessThan(2000);
    expect(p.stderr()).toContain('amiplex: second SIGTERM, exiting now');
    expect(a.pbx.named('Logoff')).toHaveLength(0);
    await c.waitClosed();
  });

  it('uses the shutdown_timeout of the configuration in force, a SIGHUP reload included', async () => {
    const a = await scripted();
    const users = [{ name: 'alice' }];
    const p = await startCli(configText({ pbx1: a.port }, users, { shutdown_timeout: 1 }));
    await waitUp(p, 'pbx1');
    p.writeConfig(configText({ pbx1: a.port }, users, { shutdown_timeout: 8 }));
    await hangup(p);
    const c = await loggedIn(p, 'alice');
    c.sendAction([['Action', 'CoreSettings'], ['ActionID', 'slow']]);
    const [held] = await a.pbx.waitForAction('CoreSettings');
    p.kill('SIGTERM');
    await p.waitForLog((l) => l.msg === 'amiplex stopping');
    // Past the first shutdown_timeout (1 s), within the drain of the new one (4 s).
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.child.exitCode, p.stderr()).toBe(null);
    held!.session.send([['Response', 'Success'], ['ActionID', actionIdOf(held!)], ['AMIversion', '11.0.0']]);
    const answered = await c.waitFor(responseTo('slow'));
    expect(header(answered, 'Response')).toBe('Success');
    expect((await p.exited).code, p.stderr()).toBe(0);
  });
});

describe('SIGHUP', () => {
  it('users: one added logs in, one removed is disconnected, a server revoked is refused on the same connection', async () => {
    const a = await scripted();
    const b = await scripted();
    const servers = { pbx1: a.port, pbx2: b.port };
    const p = await startCli(configText(servers, [{ name: 'alice', servers: ['pbx1', 'pbx2'] }, { name: 'carol' }]));
    await waitUp(p, 'pbx1', 'pbx2');
    const alice = await loggedIn(p, 'alice');
    const carol = await loggedIn(p, 'carol');
    expect(pong(await alice.action(ping('before', 'pbx2')))).toBe(true);
    // dave cannot log in yet.
    const early = await connect(p, 'dave-early');
    await expect(early.login('dave', 'dave-secret')).rejects.toThrow(/Authentication failed/);

    p.writeConfig(configText(servers, [{ name: 'alice', servers: ['pbx1'] }, { name: 'dave' }]));
    const outcome = await hangup(p);
    expect(outcome).toMatchObject({ serversAdded: [], serversRemoved: [], clientsDisconnected: 1 });

    // alice, same connection: pbx2 is refused at once, pbx1 still works.
    const denied = await alice.action(ping('after', 'pbx2'));
    expect(denied.raw).toBe('Response: Error\r\nActionID: after\r\nMessage: Permission denied for server pbx2\r\n\r\n');
    expect(pong(await alice.action(ping('still', 'pbx1')))).toBe(true);
    expect(pong(await alice.action(ping('default')))).toBe(true);
    // carol is gone; dave logs in.
    await carol.waitClosed();
    const dave = await loggedIn(p, 'dave');
    expect(pong(await dave.action(ping('dave-ping')))).toBe(true);
    const carolAgain = await connect(p, 'carol-again');
    await expect(carolAgain.login('carol', 'carol-secret')).rejects.toThrow(/Authentication failed/);
    expect(alice.isOpen).toBe(true);
  });

  it('servers: one added is connected, one removed is logged off, another user stays connected throughout', async () => {
    const a = await scripted();
    const b = await scripted();
    const c3 = await scripted();
    // bob names no servers: he may use every server of the file, whatever it lists.
    const users = [{ name: 'bob' }];
    const p = await startCli(configText({ pbx1: a.port, pbx2: b.port }, users));
    await waitUp(p, 'pbx1', 'pbx2');
    const bob = await loggedIn(p, 'bob', 'on');
    expect(pong(await bob.action(ping('p2', 'pbx2')))).toBe(true);
    const from = bob.messages.length;

    p.writeConfig(configText({ pbx1: a.port, pbx3: c3.port }, users));
    const outcome = await hangup(p);
    expect(outcome).toMatchObject({ serversAdded: ['pbx3'], serversRemoved: ['pbx2'], serversRestarted: [], clientsDisconnected: 0 });

    await c3.pbx.waitForAction('Login');
    expect(b.pbx.named('Logoff')).toHaveLength(1);
    await waitUntil(() => b.pbx.sessions.size === 0, 3000, 'pbx2 closed by amiplex');
    const down = await bob.waitFor(eventNamed('ProxyServerDown'), 3000, from);
    expect(header(down, 'Server')).toBe('pbx2');
    expect(header(down, 'Reason')).toBe('server removed from proxy.conf');
    const up = await bob.waitFor(eventNamed('ProxyServerUp'), 3000, from);
    expect(header(up, 'Server')).toBe('pbx3');

    // The same socket works on, with the servers of the new file.
    expect(pong(await bob.action(ping('p3', 'pbx3')))).toBe(true);
    expect(pong(await bob.action(ping('p1', 'pbx1')))).toBe(true);
    const gone = await bob.action(ping('p2-again', 'pbx2'));
    expect(gone.raw).toBe('Response: Error\r\nActionID: p2-again\r\nMessage: Unknown server: pbx2\r\n\r\n');
    expect(bob.isOpen).toBe(true);
    // pbx1 was left alone: one login, never logged off.
    expect(a.pbx.named('Login')).toHaveLength(1);
    expect(a.pbx.named('Logoff')).toHaveLength(0);
  });

  it('a broken file is refused: every error as FILE:LINE, "NOT reloaded", and the running config stays', async () => {
    const a = await scripted();
    const p = await startCli(configText({ pbx1: a.port }, [{ name: 'alice' }]));
    await waitUp(p, 'pbx1');
    const alice = await loggedIn(p, 'alice');
    p.writeConfig(
      [
        '[general]', //                 1
        'listen = 127.0.0.1:0', //       2
        'action_timout = 5', //          3  unknown key (typo)
        '', //                           4
        '[server pbx1]', //              5
        'host = 127.0.0.1', //           6
        `port = ${a.port}`, //           7
        'username = admin', //           8
        'secret = admin', //             9
        'keepalive = often', //         10  bad value
        '', //                          11
        '[user zed]', //                12  would replace alice
        'secret = zed-secret', //       13
        '',
      ].join('\n'),
    );
    const outcome = await hangup(p, true);
    expect(outcome.errors).toBe(2);
    const stderr = p.stderr();
    for (const line of [3, 10]) expect(stderr, `no error reported at ${p.file}:${line}`).toContain(`${p.file}:${line}: `);
    expect(stderr).toContain('action_timout');
    expect(stderr).not.toContain('configuration reloaded');

    // The old config is still the one in force.
    const again = await loggedIn(p, 'alice');
    expect(pong(await again.action(ping('ok')))).toBe(true);
    expect(pong(await alice.action(ping('still')))).toBe(true);
    const zed = await connect(p, 'zed');
    await expect(zed.login('zed', 'zed-secret')).rejects.toThrow(/Authentication failed/);
    expect(a.pbx.named('Logoff')).toHaveLength(0);
  });
});
