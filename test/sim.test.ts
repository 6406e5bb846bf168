/**
 * The simulated PBX against the captures: banner, login, permissions, the simple actions and
 * malformed input, compared byte for byte with what the real Asterisk 22 sent (values that
 * change every run — timestamps, addresses, challenges — masked on both sides).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { SimulatorOptions } from '../src/sim/index.js';
import { header, isEvent, md5Key, responseTo } from './helpers/ami-test-client.js';
import { startSim, connect, useSimFixture } from './helpers/sim-fixture.js';
import { clientCapture, serverCapture } from './helpers/captures.js';

useSimFixture();

/** Masks the values that differ from run to run. */
function mask(text: string): string {
  return text
    .replace(
      /^(Timestamp|EventTV|SessionTV|SessionID|LocalAddress|RemoteAddress|Uptime|LastReload|Challenge|CoreStartupDate|CoreStartupTime|CoreReloadDate|CoreReloadTime): .*$/gm,
      '$1: *',
    )
    .replace(/^Output: (System uptime|Last reload): .*$/gm, 'Output: $1: *');
}

/** Sends the client side of a capture in one write; everything received until the server closes. */
async function replay(name: string, opts: SimulatorOptions = {}): Promise<string> {
  const { port } = await startSim(opts);
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(clientCapture(name));
  await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}

describe('banner', () => {
  it('is exactly "Asterisk Call Manager/11.0.0\\r\\n" with nothing after it', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await new Promise((r) => setTimeout(r, 150));
    expect(c.rawText()).toBe('Asterisk Call Manager/11.0.0\r\n');
  });

  it('announces the configured AMI version', async () => {
    const { port } = await startSim({ amiVersion: '9.0.0' });
    const c = await connect(port);
    expect(c.banner).toBe('Asterisk Call Manager/9.0.0');
  });
});

describe('replaying the captures byte for byte', () => {
  const exact = [
    '01-banner-login-logoff',
    '02-ping',
    '03-coresettings-corestatus-getvar',
    '06-listcommands-unknown-action',
    '08a-login-failed-wrong-secret',
    '08b-login-failed-unknown-user',
    '08c-actions-before-login',
    '08e-login-twice',
    '11a-malformed-packets',
    '12b-huge-header-before-login',
    '13-userevent-action-logoff',
  ];
  it.each(exact)('%s', async (name) => {
    // 12b never logs in: the auth timeout ends it.
    const got = await replay(name, { authTimeoutMs: 1000 });
    expect(mask(got)).toBe(mask(serverCapture(name).toString('latin1')));
  });

  it('12a-huge-header-lines (without the stray answer to the LF Asterisk splits off a 1023-byte line)', async () => {
    const got = await replay('12a-huge-header-lines');
    const want = serverCapture('12a-huge-header-lines')
      .toString('latin1')
      .replace(
        'Message: Failed to parse message: line too long\r\n\r\nResponse: Error\r\nMessage: Missing action in request\r\n\r\n',
        'Message: Failed to parse message: line too long\r\n\r\n',
      );
    expect(mask(got)).toBe(mask(want));
  });

  it('14-originate-synchronous-blocks-session (the Ping waits ~3 s behind the Originate)', async () => {
    const started = Date.now();
    const got = await replay('14-originate-synchronous-blocks-session');
    expect(mask(got)).toBe(mask(serverCapture('14-originate-synchronous-blocks-session').toString('latin1')));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  }, 15_000);
});

describe('login', () => {
  it('accepts admin/admin and then sends FullyBooted and SuccessfulAuth', async () => {
    const { sim, port } = await startSim();
    const c = await connect(port);
    const res = await c.action([
      ['Action', 'Login'],
      ['Username', 'admin'],
      ['Secret', 'admin'],
      ['ActionID', 'login-1'],
    ]);
    expect(res.raw).toBe('Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n');
    const booted = await c.waitFor((m) => isEvent(m, 'FullyBooted'));
    expect(booted.headers.map(([n]) => n)).toEqual(['Event', 'Privilege', 'Uptime', 'LastReload', 'Status']);
    const auth = await c.waitFor((m) => isEvent(m, 'SuccessfulAuth'));
    expect(header(auth, 'AccountID')).toBe('admin');
    expect(header(auth, 'RemoteAddress')).toBe(`IPV4/TCP/127.0.0.1/${c.socket.localPort}`);
    expect(sim.stats.logins).toBe(1);
  });

  it('fails a wrong secret after authFailDelayMs, then closes', async () => {
    const { port } = await startSim({ authFailDelayMs: 200 });
    const c = await connect(port);
    const started = Date.now();
    const res = await c.action([
      ['Action', 'Login'],
      ['Username', 'admin'],
      ['Secret', 'wrong'],
      ['ActionID', 'bad-1'],
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(res.raw).toBe('Response: Error\r\nActionID: bad-1\r\nMessage: Authentication failed\r\n\r\n');
    await c.waitClosed();
  });

  it('fails an unknown user and a missing Secret the same way', async () => {
    const { port } = await startSim();
    for (const hs of [
      [['Username', 'nosuchuser'], ['Secret', 'x']],
      [['Username', 'admin']],
    ] as Array<Array<[string, string]>>) {
      const c = await connect(port);
      const res = await c.action([['Action', 'Login'], ...hs]);
      expect(res.raw).toBe('Response: Error\r\nMessage: Authentication failed\r\n\r\n');
      await c.waitClosed();
    }
  });

  it('does MD5 challenge/response (Challenge, then Login with AuthType MD5 and Key)', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    const ch = await c.action([
      ['Action', 'Challenge'],
      ['AuthType', 'MD5'],
      ['ActionID', 'ch'],
    ]);
    expect(ch.headers.map(([n]) => n)).toEqual(['Response', 'ActionID', 'Challenge']);
    const challenge = header(ch, 'Challenge')!;
    expect(challenge).toMatch(/^\d+$/);
    const res = await c.action([
      ['Action', 'Login'],
      ['AuthType', 'MD5'],
      ['Username', 'admin'],
      ['Key', md5Key(challenge, 'admin')],
      ['ActionID', 'md5-login'],
      ['Events', 'off'],
    ]);
    expect(res.raw).toBe('Response: Success\r\nActionID: md5-login\r\nMessage: Authentication accepted\r\n\r\n');
  });

  it('rejects an MD5 Key made from the wrong secret', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    const ch = await c.action([
      ['Action', 'Challenge'],
      ['AuthType', 'md5'],
    ]);
    const res = await c.action([
      ['Action', 'Login'],
      ['AuthType', 'MD5'],
      ['Username', 'admin'],
      ['Key', md5Key(header(ch, 'Challenge')!, 'nope')],
    ]);
    expect(header(res, 'Message')).toBe('Authentication failed');
    await c.waitClosed();
  });

  it('uses the configured users', async () => {
    const { port } = await startSim({ users: [{ username: 'bob', secret: 's3cret', read: 'call', write: 'originate' }] });
    const c = await connect(port);
    await c.login('bob', 's3cret', 'off');
    const denied = await c.action([
      ['Action', 'CoreSettings'],
      ['ActionID', 'cs'],
    ]);
    expect(header(denied, 'Message')).toBe('Permission denied');
  });

  it('closes an unauthenticated session silently after authTimeoutMs', async () => {
    const { port } = await startSim({ authTimeoutMs: 200 });
    const c = await connect(port);
    c.send('Action: Login\r\nUsername: admin\r\n'); // unterminated, as capture 16
    await c.waitClosed(2000);
    expect(c.rawText()).toBe('Asterisk Call Manager/11.0.0\r\n');
  });

  it('keeps a logged-in session past authTimeoutMs', async () => {
    const { port } = await startSim({ authTimeoutMs: 150 });
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.isOpen).toBe(true);
  });
});

describe('permissions', () => {
  it('denies everything but Login/Challenge/Logoff before login', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    for (const action of ['Ping', 'CoreSettings', 'NoSuchAction', 'Originate']) {
      const res = await c.action([
        ['Action', action],
        ['ActionID', `pre-${action}`],
      ]);
      expect(res.raw).toBe(`Response: Error\r\nActionID: pre-${action}\r\nMessage: Permission denied\r\n\r\n`);
    }
    expect(c.isOpen).toBe(true);
  });

  it('gives the read-only monitor user Permission denied for write actions and a filtered ListCommands (capture 09)', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('monitor', 'monitor');
    const want = serverCapture('09-monitor-permission-denied').toString('latin1');
    for (const action of ['Originate', 'CoreSettings', 'Command', 'CoreShowChannels', 'Status', 'GetConfig', 'Hangup']) {
      const id = `mon-${action.toLowerCase()}`;
      const res = await c.action([
        ['Action', action],
        ['ActionID', id],
      ]);
      expect(res.raw).toBe(`Response: Error\r\nActionID: ${id}\r\nMessage: Permission denied\r\n\r\n`);
      expect(want).toContain(res.raw);
    }
    const lc = await c.action([
      ['Action', 'ListCommands'],
      ['ActionID', 'mon-listcommands'],
    ]);
    expect(want).toContain(lc.raw);
    const ping = await c.action([
      ['Action', 'Ping'],
      ['ActionID', 'mon-ping'],
    ]);
    expect(header(ping, 'Ping')).toBe('Pong');
  });

  it('gives the monitor FullyBooted (system) but not SuccessfulAuth (security)', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('monitor', 'monitor');
    await c.waitFor((m) => isEvent(m, 'FullyBooted'));
    await new Promise((r) => setTimeout(r, 100));
    expect(c.count((m) => isEvent(m, 'SuccessfulAuth'))).toBe(0);
  });
});

describe('simple actions', () => {
  it('Ping answers Pong with a seconds.micro Timestamp, ActionID second or absent', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    const res = await c.action([
      ['Action', 'Ping'],
      ['ActionID', 'p1'],
    ]);
    expect(res.raw).toMatch(/^Response: Success\r\nActionID: p1\r\nPing: Pong\r\nTimestamp: \d{10}\.\d{6}\r\n\r\n$/);
    const bare = await c.action([['Action', 'Ping']]);
    expect(bare.raw).toMatch(/^Response: Success\r\nPing: Pong\r\nTimestamp: \d{10}\.\d{6}\r\n\r\n$/);
  });

  it('answers each bare blank line with its own "Missing action in request"', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    const from = c.messages.length;
    c.send('\r\n\r\n\r\n');
    const three = await c.waitForCount(responseTo(undefined), 3, 2000, from);
    for (const m of three) expect(m.raw).toBe('Response: Error\r\nMessage: Missing action in request\r\n\r\n');
  });

  it('answers a too-long line with the decoder text and the ActionID seen', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    const res = await c.action([
      ['Action', 'Ping'],
      ['X-Big', 'y'.repeat(2000)],
      ['ActionID', 'big'],
    ]);
    expect(res.raw).toBe('Response: Error\r\nActionID: big\r\nMessage: Failed to parse message: line too long\r\n\r\n');
  });

  it('Command runs core show version, core show uptime, and rejects unknown and missing commands', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    const ver = await c.action([
      ['Action', 'Command'],
      ['Command', 'core show version'],
      ['ActionID', 'cmd-ver'],
    ]);
    expect(serverCapture('05-command-action').toString('latin1')).toContain(ver.raw);
    const bad = await c.action([
      ['Action', 'Command'],
      ['Command', 'this is not a command'],
      ['ActionID', 'cmd-bad'],
    ]);
    expect(serverCapture('05-command-action').toString('latin1')).toContain(bad.raw);
    const missing = await c.action([
      ['Action', 'Command'],
      ['ActionID', 'cmd-missing'],
    ]);
    expect(missing.raw).toBe('Response: Error\r\nActionID: cmd-missing\r\nMessage: No command provided\r\n\r\n');
    const up = await c.action([
      ['Action', 'Command'],
      ['Command', 'core show uptime'],
    ]);
    expect(up.raw).toMatch(/^Response: Success\r\nMessage: Command output follows\r\nOutput: System uptime: \d+ seconds?\r\nOutput: Last reload: \d+ seconds?\r\n\r\n$/);
  });

  it('Events changes the mask and answers On/Off', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    const cases: Array<[string, string]> = [
      ['call,user', 'On'],
      ['off', 'Off'],
      ['on', 'On'],
      ['0', 'Off'],
      ['user', 'On'],
    ];
    for (const [mask, want] of cases) {
      const res = await c.action([
        ['Action', 'Events'],
        ['EventMask', mask],
        ['ActionID', `ev-${mask}`],
      ]);
      expect(res.raw).toBe(`Response: Success\r\nActionID: ev-${mask}\r\nEvents: ${want}\r\n\r\n`);
    }
  });

  it('Getvar/Setvar keep global variables', async () => {
    const { port } = await startSim();
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    await c.action([
      ['Action', 'Setvar'],
      ['Variable', 'G1'],
      ['Value', 'x y z'],
    ]);
    const res = await c.action([
      ['Action', 'Getvar'],
      ['Variable', 'G1'],
      ['ActionID', 'gv'],
    ]);
    expect(res.raw).toBe('Response: Success\r\nActionID: gv\r\nVariable: G1\r\nValue: x y z\r\n\r\n');
  });

  it('survives garbage: random bytes, NULs, huge lines, half messages', async () => {
    const { sim, port } = await startSim();
    const c = await connect(port);
    await c.login('admin', 'admin', 'off');
    const junk = Buffer.alloc(200_000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) % 256;
    c.send(junk);
    c.send('\r\n\r\nAction: Ping\r\nActionID: alive\r\n\r\n');
    await c.waitFor(responseTo('alive'), 3000);
    expect(sim.internalErrors).toEqual([]);
  });
});
