/**
 * The audit trail, over real sockets through a running amiplex: exactly one `"msg":"action"`
 * line per action (user, address, server, action, result) whoever answered it — the PBX with
 * success or an error, amiplex refusing it, amiplex timing it out — and also for an action whose
 * client went away before its answer. And secrets (Secret, Key, the redact_headers values)
 * appear in no log line at all, at debug level, whatever path an action takes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { header, md5Key, type Headers } from './helpers/ami-test-client.js';
import { auditLines, refusedLines, type LogRecord } from './helpers/access-logs.js';
import { startHttpFixture } from './helpers/http-fixture.js';
import { startFixture, stopAllFixtures, waitUntil, type ReceivedAction, type ScriptedPbxOptions } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

/** A PBX that answers `Fail` with an error, stays silent on `Slow` (kept in `slow`), and answers the rest with success. */
function auditPbx(slow: ReceivedAction[]): { scripted: ScriptedPbxOptions } {
  return {
    scripted: {
      respond: (a) => {
        const name = header(a, 'Action');
        const id = header(a, 'ActionID')!;
        if (name === 'Slow') slow.push(a);
        else if (name === 'Fail') a.session.send([['Response', 'Error'], ['ActionID', id], ['Message', 'Nope']]);
        else a.session.send([['Response', 'Success'], ['ActionID', id], ['Message', 'ok']]);
      },
    },
  };
}

describe('one audit line per action (raw AMI)', () => {
  it('success, PBX error, refusal, timeout, amiplex-answered and Proxy* actions', async () => {
    const slow: ReceivedAction[] = [];
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', ...auditPbx(slow) }],
      users: [{ name: 'alice', settings: { deny_actions: 'Command' } }],
      general: { action_timeout: 0.3 },
    });
    const c = await fx.loggedIn('alice');
    const remote = `127.0.0.1:${c.socket.localPort}`;
    const steps: Array<[Headers, Partial<LogRecord>]> = [
      [[['Action', 'CoreSettings']], { server: 'pbx1', result: 'Success' }],
      [[['Action', 'Fail']], { server: 'pbx1', result: 'Error', message: 'Nope' }],
      [[['Action', 'Command'], ['Command', 'core show version']], { result: 'Error', message: 'Permission denied' }],
      [[['Action', 'Slow']], { server: 'pbx1', result: 'Error' }],
      [[['Action', 'Events'], ['EventMask', 'off']], { result: 'Success' }],
      [[['Action', 'ProxyListServers']], { result: 'Success' }],
      [[['Action', 'Ping'], ['Server', 'nowhere']], { result: 'Error', message: 'Unknown server: nowhere' }],
    ];
    for (const [i, [hs, expected]] of steps.entries()) {
      const before = auditLines(fx.logs).length;
      const id = `s${i}`;
      const m = await c.action([hs[0]!, ['ActionID', id], ...hs.slice(1)]);
      if (hs[0]![1] === 'ProxyListServers') await c.collectList(id, 3000, m.index);
      await waitUntil(() => auditLines(fx.logs).length > before, 2000, `the audit line of ${hs[0]![1]}`);
      // A round trip later, still exactly one.
      await c.action([['Action', 'Ping'], ['ActionID', `sync${i}`]]);
      const lines = auditLines(fx.logs).slice(before);
      expect(lines.map((l) => l.action)).toEqual([hs[0]![1], 'Ping']);
      expect(lines[0]).toMatchObject({ audit: 'ami', user: 'alice', remote, action: hs[0]![1], ...expected });
      if (expected.server === undefined) expect(lines[0]!.server).toBeUndefined();
    }
    expect(auditLines(fx.logs, 'Slow')[0]!.message).toMatch(/^Timeout/);
    expect(auditLines(fx.logs, 'Login')).toMatchObject([{ user: 'alice', result: 'Success' }]);
  });

  it('an action whose client disconnected before the answer still gets its line, with the result', async () => {
    const slow: ReceivedAction[] = [];
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', ...auditPbx(slow) }], general: { action_timeout: 0.5 } });
    const c = await fx.loggedIn('alice');
    c.sendAction([['Action', 'Slow'], ['ActionID', 'gone-1']]);
    c.sendAction([['Action', 'Slow'], ['ActionID', 'gone-2']]);
    await waitUntil(() => slow.length === 2, 2000, 'both actions at the PBX');
    await c.close();
    await waitUntil(() => fx.proxy.hub.clients.size === 0, 2000, 'amiplex to see the client gone');
    // The PBX answers the first late; the second times out.
    const first = slow[0]!;
    first.session.send([['Response', 'Success'], ['ActionID', header(first, 'ActionID')!], ['Message', 'late']]);
    await waitUntil(() => auditLines(fx.logs, 'Slow').length === 2, 3000, 'two audit lines');
    const [late, expired] = auditLines(fx.logs, 'Slow');
    expect(late).toMatchObject({ user: 'alice', server: 'pbx1', result: 'Success', disconnected: true });
    expect(expired).toMatchObject({ user: 'alice', server: 'pbx1', result: 'Error', disconnected: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(auditLines(fx.logs, 'Slow')).toHaveLength(2);
  });
});

describe('one audit line per action (HTTP)', () => {
  it('success, refusal, and a request abandoned before its answer', async () => {
    const slow: ReceivedAction[] = [];
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', ...auditPbx(slow) }], users: [{ name: 'alice', settings: { deny_actions: 'Command' } }] });
    expect((await h.get('/rawman?Action=CoreSettings', { auth: 'alice' })).status).toBe(200);
    expect((await h.get('/rawman?Action=Command&Command=x', { auth: 'alice' })).status).toBe(403);
    await waitUntil(() => auditLines(h.fx.logs).length === 2, 2000, 'two audit lines');
    expect(auditLines(h.fx.logs)).toMatchObject([
      { audit: 'http', user: 'alice', server: 'pbx1', action: 'CoreSettings', result: 'HTTP 200' },
      { audit: 'http', user: 'alice', action: 'Command', result: 'HTTP 403' },
    ]);
    const req = http.get({ host: h.host, port: h.port, path: '/rawman?Action=Slow', headers: { Authorization: h.basic('alice') }, agent: false });
    req.on('error', () => undefined);
    await waitUntil(() => slow.length === 1, 2000, 'the action at the PBX');
    req.destroy();
    await waitUntil(() => auditLines(h.fx.logs, 'Slow').length === 1, 2000, 'the audit line of the abandoned request');
    expect(auditLines(h.fx.logs, 'Slow')[0]).toMatchObject({ user: 'alice', server: 'pbx1', result: 'none', disconnected: true });
    slow[0]!.session.send([['Response', 'Success'], ['ActionID', header(slow[0]!, 'ActionID')!]]);
    await new Promise((r) => setTimeout(r, 200));
    expect(auditLines(h.fx.logs, 'Slow')).toHaveLength(1);
  });
});

describe('secrets in logs', () => {
  it('Secret, Key and redact_headers values appear in no log line, even at debug level', async () => {
    const SECRET = 'Zq-plain-secret-81723';
    const WRONG = 'Zq-wrong-secret-55120';
    const VARIABLE = 'Zq-variable-66612';
    const DATA = 'Zq-data-99001';
    const CHANNEL = 'PJSIP/Zq7777';
    const h = await startHttpFixture({
      pbxes: [{ name: 'pbx1', ...auditPbx([]) }],
      users: [
        { name: 'alice', secret: SECRET },
        { name: 'desk', settings: { channels: 'PJSIP/1001' } },
      ],
      general: { log_level: 'debug', redact_headers: 'Variable, Data, Channel', auth_fail_delay: 0, lockout_failures: 0 },
    });
    const fx = h.fx;
    const a = await fx.loggedIn('alice');
    await a.action([['Action', 'Originate'], ['ActionID', 'o1'], ['Channel', 'Local/1@x'], ['Exten', '1'], ['Variable', `pin=${VARIABLE}`], ['Data', DATA], ['Async', 'true']]);
    await a.action([['Action', 'Fail'], ['ActionID', 'f1'], ['Variable', `x=${VARIABLE}`]]);
    const m = await fx.client();
    const ch = await m.action([['Action', 'Challenge'], ['ActionID', 'c'], ['AuthType', 'MD5']]);
    const key = md5Key(header(ch, 'Challenge')!, SECRET);
    await m.action([['Action', 'Login'], ['ActionID', 'l'], ['AuthType', 'md5'], ['Username', 'alice'], ['Key', key]]);
    const bad = await fx.client();
    await bad.action([['Action', 'Login'], ['ActionID', 'l'], ['Username', 'alice'], ['Secret', WRONG]]);
    await bad.waitClosed();
    // Refused, with the refused value in the reason were it not redacted.
    const d = await fx.loggedIn('desk');
    expect(header(await d.action([['Action', 'Hangup'], ['ActionID', 'h'], ['Channel', `${CHANNEL}-00000001`]]), 'Message')).toBe('Permission denied');
    // HTTP: Basic, AJAM login, a wrong secret.
    await h.get('/rawman?Action=Ping', { auth: 'alice' });
    await h.get(`/rawman?Action=Login&Username=alice&Secret=${SECRET}`);
    await h.get('/rawman?Action=Ping', { auth: 'alice', secret: WRONG });
    await h.post('/rawman', `Action=Fail&Variable=y%3D${VARIABLE}`, { auth: 'alice' });
    await waitUntil(() => auditLines(fx.logs).length >= 9, 3000, 'the audit lines');
    // The refusal's reason would quote the channel: it is there, hidden.
    expect(refusedLines(fx.logs, 'Hangup')[0]!.reason).toContain('Channel ******** is not a channel');
    const all = fx.logs.join('');
    expect(all).toContain('"msg":"action from client"');
    expect(all).toContain('********');
    for (const hidden of [SECRET, WRONG, key, VARIABLE, DATA, CHANNEL]) expect(all, hidden).not.toContain(hidden);
  });
});
