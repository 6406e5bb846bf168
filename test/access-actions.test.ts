/**
 * What a user may send, over real sockets through a running amiplex: every way an action is
 * refused (actions allow list, deny_actions, globs, any case, write classes, device scoping,
 * the forced context, Proxy* actions and Filter), over raw TCP and HTTP. A refusal is answered
 * with Asterisk's exact `Response: Error` / `Message: Permission denied`, never reaches the PBX,
 * and is logged once ("action refused") with its one audit line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { header, type AmiTestClient, type Headers } from './helpers/ami-test-client.js';
import { auditLines, ECHO_PBX, refusedLines } from './helpers/access-logs.js';
import { amiMessages, hv, sessionCookieOf, startHttpFixture } from './helpers/http-fixture.js';
import { startFixture, stopAllFixtures, waitUntil, type ProxyFixture, type UserSpec } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

let seq = 0;
const nextId = () => `a${++seq}`;

/** One action (a fresh ActionID) and its response. */
async function send(c: AmiTestClient, hs: Headers): Promise<{ id: string; raw: string; response: string | undefined; message: string | undefined }> {
  const id = nextId();
  const m = await c.action([...hs.slice(0, 1), ['ActionID', id], ...hs.slice(1)]);
  return { id, raw: m.raw, response: header(m, 'Response'), message: header(m, 'Message') };
}

/**
 * Sends an action that must be refused: Asterisk's exact answer, nothing at the PBX, one
 * "action refused" line and one audit line more than before.
 */
async function expectRefused(fx: ProxyFixture, c: AmiTestClient, hs: Headers): Promise<void> {
  const name = hs[0]![1];
  const pbx = fx.pbx('pbx1').scripted!;
  const before = { refused: refusedLines(fx.logs).length, audit: auditLines(fx.logs).length, pbx: pbx.actions.length };
  const r = await send(c, hs);
  expect(r.raw, `${name} must be refused`).toBe(`Response: Error\r\nActionID: ${r.id}\r\nMessage: Permission denied\r\n\r\n`);
  await waitUntil(() => auditLines(fx.logs).length > before.audit, 2000, 'the audit line');
  const refused = refusedLines(fx.logs).slice(before.refused);
  expect(refused, `one "action refused" line for ${name}`).toHaveLength(1);
  expect(refused[0]).toMatchObject({ action: name, user: c.label });
  expect(typeof refused[0]!.reason).toBe('string');
  const audits = auditLines(fx.logs).slice(before.audit);
  expect(audits).toHaveLength(1);
  expect(audits[0]).toMatchObject({ user: c.label, action: name, result: 'Error', message: 'Permission denied' });
  // A round trip later, the PBX still has seen nothing of it.
  await send(c, [['Action', 'Ping']]);
  expect(pbx.actions.slice(before.pbx).map((a) => header(a, 'Action'))).toEqual(['Ping']);
}

/** Sends an action that must be forwarded: the PBX's answer comes back; returns what the PBX received. */
async function expectForwarded(fx: ProxyFixture, c: AmiTestClient, hs: Headers): Promise<Array<[string, string]>> {
  const r = await send(c, hs);
  // The scripted PBX answers Ping itself (Ping: Pong), everything else `Message: ok`.
  const body = hs[0]![1] === 'Ping' ? r.raw.replace(/Ping: Pong\r\nTimestamp: [\d.]+\r\n/, 'Message: ok\r\n') : r.raw;
  expect(body, `${hs[0]![1]} must be forwarded`).toBe(`Response: Success\r\nActionID: ${r.id}\r\nMessage: ok\r\n\r\n`);
  const got = fx.pbx('pbx1').scripted!.actions.at(-1)!;
  expect(header(got, 'Action')).toBe(hs[0]![1]);
  return got.headers;
}

async function fixtureWith(users: UserSpec[]): Promise<ProxyFixture> {
  return startFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users });
}

describe('action lists', () => {
  it('actions is an allow list of globs, case ignored; others are refused', async () => {
    const fx = await fixtureWith([{ name: 'lister', settings: { actions: 'Ping, Core*, getvar' } }]);
    const c = await fx.loggedIn('lister');
    await expectForwarded(fx, c, [['Action', 'CoreSettings']]);
    await expectForwarded(fx, c, [['Action', 'coreshowchannels']]);
    await expectForwarded(fx, c, [['Action', 'GetVar'], ['Variable', 'X']]);
    await expectRefused(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Exten', '1002']]);
    await expectRefused(fx, c, [['Action', 'COMMAND'], ['Command', 'core show version']]);
    await expectRefused(fx, c, [['Action', 'Status']]);
  });

  it('deny_actions refuses by glob and in any case, even what actions allows', async () => {
    const fx = await fixtureWith([{ name: 'denier', settings: { actions: '*', deny_actions: 'Command, Originat*, *Var' } }]);
    const c = await fx.loggedIn('denier');
    await expectRefused(fx, c, [['Action', 'command'], ['Command', 'core show version']]);
    await expectRefused(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Exten', '1002']]);
    await expectRefused(fx, c, [['Action', 'SetVar'], ['Variable', 'X'], ['Value', '1']]);
    await expectRefused(fx, c, [['Action', 'GETVAR'], ['Variable', 'X']]);
    await expectForwarded(fx, c, [['Action', 'CoreSettings']]);
  });

  it('Ping, Login, Logoff and Challenge are never refused by the lists', async () => {
    const fx = await fixtureWith([{ name: 'nothing', settings: { actions: 'CoreSettings', deny_actions: '*' } }]);
    const c = await fx.loggedIn('nothing');
    await expectForwarded(fx, c, [['Action', 'Ping']]);
    const r = await send(c, [['Action', 'Logoff']]);
    expect(r.response).toBe('Goodbye');
  });
});

describe('write classes', () => {
  it('an action outside the write classes is refused, as Asterisk lists its class', async () => {
    const fx = await fixtureWith([{ name: 'caller', settings: { write: 'call' } }]);
    const c = await fx.loggedIn('caller');
    await expectForwarded(fx, c, [['Action', 'Redirect'], ['Channel', 'PJSIP/1001-00000001'], ['Exten', '1'], ['Context', 'c'], ['Priority', '1']]);
    await expectForwarded(fx, c, [['Action', 'Hangup'], ['Channel', 'PJSIP/1001-00000001']]);
    await expectRefused(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Exten', '1002']]);
    await expectRefused(fx, c, [['Action', 'Command'], ['Command', 'core show version']]);
    await expectRefused(fx, c, [['Action', 'UserEvent'], ['UserEvent', 'x']]);
  });

  it('an Originate of a system application needs the system class', async () => {
    const fx = await fixtureWith([{ name: 'orig', settings: { write: 'originate' } }]);
    const c = await fx.loggedIn('orig');
    await expectForwarded(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Application', 'Playback'], ['Data', 'hello'], ['Async', 'true']]);
    await expectRefused(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Application', 'System'], ['Data', 'rm -rf /']]);
  });
});

describe('device scoping (channels) and the forced context', () => {
  const desk: UserSpec = { name: 'desk', settings: { channels: 'PJSIP/1001', context: 'from-desk' } };

  it('Originate from its own device is forwarded with the forced context; another device is refused', async () => {
    const fx = await fixtureWith([desk]);
    const c = await fx.loggedIn('desk');
    const got = await expectForwarded(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Context', 'default'], ['Exten', '1002'], ['Priority', '1'], ['Async', 'true']]);
    expect(got.filter(([n]) => n.toLowerCase() === 'context')).toEqual([['Context', 'from-desk']]);
    // Replaced where it stood.
    expect(got.map(([n]) => n)).toEqual(['Action', 'ActionID', 'Channel', 'Context', 'Exten', 'Priority', 'Async']);
    // No Context at all: one is added.
    const added = await expectForwarded(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001/sip:1001@10.0.0.5'], ['Exten', '1003'], ['Async', 'true']]);
    expect(added.filter(([n]) => n.toLowerCase() === 'context')).toEqual([['Context', 'from-desk']]);
    await expectRefused(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1002'], ['Exten', '1001'], ['Context', 'from-desk']]);
    await expectRefused(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/10011'], ['Exten', '1001']]);
    // An application instead of the context's dialplan is refused.
    await expectRefused(fx, c, [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Application', 'Dial'], ['Data', 'PJSIP/1002']]);
  });

  it("Hangup and Redirect of its own channels are forwarded; another's, a regex or none are refused", async () => {
    const fx = await fixtureWith([desk]);
    const c = await fx.loggedIn('desk');
    await expectForwarded(fx, c, [['Action', 'Hangup'], ['Channel', 'PJSIP/1001-0000000a']]);
    const redirected = await expectForwarded(fx, c, [['Action', 'Redirect'], ['Channel', 'PJSIP/1001-0000000a'], ['Exten', '1'], ['Context', 'x'], ['Priority', '1']]);
    // Into the forced context, as an Originate would be.
    expect(redirected.filter(([n]) => n.toLowerCase() === 'context')).toEqual([['Context', 'from-desk']]);
    const transferred = await expectForwarded(fx, c, [['Action', 'BlindTransfer'], ['Channel', 'PJSIP/1001-0000000a'], ['Exten', '900']]);
    expect(transferred.filter(([n]) => n.toLowerCase() === 'context')).toEqual([['Context', 'from-desk']]);
    await expectRefused(fx, c, [['Action', 'Hangup'], ['Channel', 'PJSIP/1002-0000000b']]);
    await expectRefused(fx, c, [['Action', 'Hangup'], ['Channel', '/PJSIP/']]);
    await expectRefused(fx, c, [['Action', 'Hangup']]);
    await expectRefused(fx, c, [['Action', 'Redirect'], ['Channel', 'PJSIP/1002-0000000b'], ['Exten', '1'], ['Context', 'x'], ['Priority', '1']]);
    await expectRefused(fx, c, [['Action', 'Redirect'], ['Channel', 'PJSIP/1001-0000000a'], ['ExtraChannel', 'PJSIP/1003-0000000c'], ['Exten', '1'], ['Context', 'x'], ['Priority', '1']]);
  });
});

describe('amiplex-answered actions are subject to the policy', () => {
  it('Proxy* actions follow actions and deny_actions', async () => {
    const fx = await fixtureWith([
      { name: 'noproxy', settings: { deny_actions: 'Proxy*' } },
      { name: 'pingonly', settings: { actions: 'Ping' } },
      { name: 'listsrv', settings: { actions: 'Ping, ProxyListServers' } },
    ]);
    const a = await fx.loggedIn('noproxy');
    await expectRefused(fx, a, [['Action', 'ProxyListServers']]);
    await expectRefused(fx, a, [['Action', 'proxysetformat'], ['Format', 'json']]);
    const b = await fx.loggedIn('pingonly');
    await expectRefused(fx, b, [['Action', 'ProxyListServers']]);
    const c = await fx.loggedIn('listsrv');
    const id = nextId();
    const list = await c.list([['Action', 'ProxyListServers'], ['ActionID', id]]);
    expect(list.items.map((m) => header(m, 'Server'))).toEqual(['pbx1']);
  });

  it('Filter needs the system class and passes the action lists, as in Asterisk', async () => {
    const fx = await fixtureWith([
      { name: 'callonly', settings: { write: 'call' } },
      { name: 'nofilter', settings: { deny_actions: 'filter' } },
      { name: 'sys', settings: { write: 'system' } },
    ]);
    const filter: Headers = [['Action', 'Filter'], ['Operation', 'Add'], ['Filter', 'Event: Newchannel']];
    await expectRefused(fx, await fx.loggedIn('callonly'), filter);
    await expectRefused(fx, await fx.loggedIn('nofilter'), filter);
    const ok = await send(await fx.loggedIn('sys'), filter);
    expect(ok.raw).toBe(`Response: Success\r\nActionID: ${ok.id}\r\nMessage: Success\r\n\r\n`);
  });
});

describe('over HTTP', () => {
  it('the same refusals: 403 with Permission denied, nothing forwarded, logged once', async () => {
    const users: UserSpec[] = [
      { name: 'desk', settings: { channels: 'PJSIP/1001', context: 'from-desk', deny_actions: 'Command, ProxyList*', write: 'call,originate,reporting' } },
    ];
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users });
    const pbx = h.fx.pbx('pbx1').scripted!;
    const refusedOver = async (query: string, name: string) => {
      const before = { refused: refusedLines(h.fx.logs).length, audit: auditLines(h.fx.logs).length, pbx: pbx.actions.length };
      const r = await h.get(`/rawman?${query}`, { auth: 'desk' });
      expect(r.status, query).toBe(403);
      const [m] = amiMessages(r.body);
      expect(hv(m!, 'Response')).toBe('Error');
      expect(hv(m!, 'Message')).toBe('Permission denied');
      await waitUntil(() => auditLines(h.fx.logs).length > before.audit, 2000, 'the audit line');
      expect(refusedLines(h.fx.logs).slice(before.refused).map((l) => l.action)).toEqual([name]);
      expect(auditLines(h.fx.logs).slice(before.audit)).toMatchObject([{ audit: 'http', user: 'desk', action: name, result: 'HTTP 403' }]);
      expect(pbx.actions.length).toBe(before.pbx);
    };
    await refusedOver('Action=Command&Command=core+show+version', 'Command');
    await refusedOver('Action=command&Command=core+show+version', 'command');
    await refusedOver('Action=ProxyListServers', 'ProxyListServers');
    await refusedOver('Action=Originate&Channel=PJSIP/1002&Exten=1001', 'Originate');
    await refusedOver('Action=Hangup&Channel=PJSIP/1002-00000001', 'Hangup');
    await refusedOver('Action=Redirect&Channel=PJSIP/1002-00000001&Exten=1&Context=x&Priority=1', 'Redirect');
    await refusedOver('Action=UserEvent&UserEvent=x', 'UserEvent');

    const ok = await h.get('/rawman?Action=Originate&Channel=PJSIP/1001&Exten=1002&Context=elsewhere&Async=true', { auth: 'desk' });
    expect(ok.status).toBe(200);
    expect(hv(amiMessages(ok.body)[0]!, 'Response')).toBe('Success');
    const got = pbx.named('Originate').at(-1)!;
    expect(got.headers.filter(([n]) => n === 'Context')).toEqual([['Context', 'from-desk']]);
  });

  it('Filter in a login session is refused without the system class', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', ...ECHO_PBX }], users: [{ name: 'web', settings: { write: 'call' } }, { name: 'ops', settings: { write: 'system' } }] });
    const filterAs = async (user: string) => {
      const login = await h.get(`/rawman?Action=Login&Username=${user}&Secret=${user}-secret`);
      expect(login.status).toBe(200);
      return h.get('/rawman?Action=Filter&Operation=Add&Filter=Event:%20Newchannel', { cookie: sessionCookieOf(login) });
    };
    const refused = await filterAs('web');
    expect(refused.status).toBe(403);
    expect(hv(amiMessages(refused.body)[0]!, 'Message')).toBe('Permission denied');
    expect(refusedLines(h.fx.logs, 'Filter')).toMatchObject([{ user: 'web' }]);
    const allowed = await filterAs('ops');
    expect(allowed.status).toBe(200);
    expect(hv(amiMessages(allowed.body)[0]!, 'Message')).toBe('Success');
  });
});
