/**
 * astmanproxy's ProxyAction commands over a real raw AMI connection, answered as astmanproxy
 * answered them (test/fixtures/astmanproxy-captures/raw-proxyactions.transcript.txt) plus the
 * client's ActionID; SetOutputFormat switching the connection to astmanproxy's CSV and XML
 * mid-session; autofilter from the listener and from SetAutoFilter.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';

import { header, headers, isEvent, responseTo, type AmiTestClient } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil, type ProxyFixture } from './helpers/proxy-fixture.js';
import { AmiTestClient as Client } from './helpers/ami-test-client.js';

afterEach(stopAllFixtures);

const proxyAnswer = (c: AmiTestClient, actionId: string) => c.waitFor((m) => header(m, 'ProxyResponse') !== undefined && header(m, 'ActionID') === actionId);

/** Waits until the raw text received since `from` (a byte offset) holds `text`; returns it. */
async function rawSince(c: AmiTestClient, from: number, text: string): Promise<string> {
  await waitUntil(() => c.rawText().slice(from).includes(text), 3000, `raw text ${JSON.stringify(text)}`);
  return c.rawText().slice(from);
}

async function loggedInOn(fx: ProxyFixture, index: number, user = 'alice'): Promise<AmiTestClient> {
  const l = fx.proxy.listeners[index]!;
  const c = await Client.connect(l.port, l.host, { label: `${user}@${index}` });
  await c.login(user, `${user}-secret`);
  return c;
}

describe('ProxyAction', () => {
  it('answers ListIOHandlers, ListSessions, ListServers, SetAutoFilter and an unknown one as astmanproxy, with the ActionID', async () => {
    const fx = await startFixture({ users: [{ name: 'alice', secret: 'alice-secret', settings: { status: 'yes' } }, { name: 'bob', secret: 'bob-secret' }] });
    const c = await fx.loggedIn('alice');
    const bob = await fx.loggedIn('bob');

    c.sendAction([['ProxyAction', 'ListIOHandlers'], ['ActionID', 'a1']]);
    const io = await proxyAnswer(c, 'a1');
    expect(header(io, 'ProxyResponse')).toBe('Success');
    expect(headers(io, 'InputHandler')).toEqual(['standard', 'http', 'xml', 'json']);
    expect(headers(io, 'OutputHandler')).toEqual(expect.arrayContaining(['standard', 'xml', 'csv', 'json']));

    c.sendAction([['ProxyAction', 'ListSessions'], ['ActionID', 'a2']]);
    const sessions = await proxyAnswer(c, 'a2');
    expect(headers(sessions, 'ProxyClientSession')).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(headers(sessions, 'ProxyClientInputHandler')).toEqual(['standard', 'standard']);
    expect(headers(sessions, 'ProxyClientOutputHandler')).toEqual(['standard', 'standard']);
    expect(headers(sessions, 'ProxyServerSession')).toEqual(['127.0.0.1']);
    // A user who may not see the status page sees its own connection only.
    bob.sendAction([['ProxyAction', 'ListSessions'], ['ActionID', 'b1']]);
    expect(headers(await proxyAnswer(bob, 'b1'), 'ProxyClientSession')).toHaveLength(1);

    c.sendAction([['ProxyAction', 'ListServers'], ['ActionID', 'a4']]);
    const servers = await proxyAnswer(c, 'a4');
    const port = fx.pbx('pbx1').port;
    expect(header(servers, 'ProxyListServer I')).toBe(`127.0.0.1 H: pbx1 U: admin P: ${port} E: on `);

    c.sendAction([['ProxyAction', 'SetAutoFilter'], ['AutoFilter', 'on'], ['ActionID', 'a5']]);
    expect((await proxyAnswer(c, 'a5')).headers).toEqual([['ProxyResponse', 'Success'], ['ActionID', 'a5'], ['AutoFilter', '1']]);
    c.sendAction([['ProxyAction', 'SetAutoFilter'], ['AutoFilter', 'unique'], ['ActionID', 'a5u']]);
    expect(header(await proxyAnswer(c, 'a5u'), 'AutoFilter')).toBe('2');

    // No ActionID sent: none in the answer, as astmanproxy.
    const from = c.messages.length;
    c.sendAction([['ProxyAction', 'Bogus']]);
    const bogus = await c.waitFor((m) => header(m, 'ProxyResponse') === 'Error', 3000, from);
    expect(bogus.headers).toEqual([['ProxyResponse', 'Error'], ['Message', 'Invalid Proxy Action']]);

    c.sendAction([['ProxyAction', 'DropServer'], ['Server', 'pbx1'], ['ActionID', 'd1']]);
    const drop = await proxyAnswer(c, 'd1');
    expect(header(drop, 'ProxyResponse')).toBe('Failure');
    expect(header(drop, 'Message')).toMatch(/proxy\.conf.*reload/);
    c.sendAction([['ProxyAction', 'AddServer'], ['Server', '10.9.9.9'], ['ActionID', 'd2']]);
    expect(header(await proxyAnswer(c, 'd2'), 'ProxyResponse')).toBe('Failure');
    expect(fx.proxy.hub.servers.get('pbx1')?.session.state).toBe('up');
    expect(fx.logs.some((l) => l.includes('ProxyAction refused'))).toBe(true);
  });

  it('needs a login, and follows the user\'s actions list as Proxy<Name>', async () => {
    const fx = await startFixture({ users: [{ name: 'alice', secret: 'alice-secret', settings: { actions: 'Ping, ProxyListIOHandlers' } }] });
    const anon = await fx.client();
    anon.sendAction([['ProxyAction', 'ListIOHandlers'], ['ActionID', 'x']]);
    expect(header(await anon.waitFor(responseTo('x')), 'Message')).toBe('Permission denied');
    const c = await fx.loggedIn('alice');
    c.sendAction([['ProxyAction', 'ListIOHandlers'], ['ActionID', 'ok']]);
    expect(header(await proxyAnswer(c, 'ok'), 'ProxyResponse')).toBe('Success');
    c.sendAction([['ProxyAction', 'ListSessions'], ['ActionID', 'no']]);
    expect((await proxyAnswer(c, 'no')).headers).toEqual([['ProxyResponse', 'Error'], ['ActionID', 'no'], ['Message', 'Permission denied']]);
  });

  it('SetOutputFormat switches a raw client to CSV, then XML, mid-session; Logoff says goodbye and closes', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice');
    let from = c.rawText().length;
    c.sendAction([['ProxyAction', 'SetOutputFormat'], ['OutputFormat', 'csv'], ['ActionID', 'a6']]);
    expect(await rawSince(c, from, '\r\n\r\n')).toBe('"ProxyResponse: Success", "ActionID: a6", "OutputFormat: csv"\r\n\r\n');
    from = c.rawText().length;
    c.sendAction([['Action', 'Ping'], ['ActionID', 'p1']]);
    expect(await rawSince(c, from, '\r\n\r\n')).toMatch(/^"Response: Success", "ActionID: p1", "Ping: Pong", "Timestamp: [0-9.]+"\r\n\r\n$/);

    from = c.rawText().length;
    c.sendAction([['ProxyAction', 'SetOutputFormat'], ['OutputFormat', 'xml'], ['ActionID', 'a3']]);
    expect(await rawSince(c, from, '</AsteriskManagerProxyOutput>\r\n\r\n')).toBe(
      '<AsteriskManagerProxyOutput>\r\n <ProxyResponse Value="Success"/>\r\n <ActionID Value="a3"/>\r\n <OutputFormat Value="xml"/>\r\n</AsteriskManagerProxyOutput>\r\n\r\n',
    );
    from = c.rawText().length;
    c.sendAction([['Action', 'Ping'], ['ActionID', 'p2']]);
    const ping = await rawSince(c, from, '</AsteriskManagerOutput>\r\n\r\n');
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(ping) as { AsteriskManagerOutput: Record<string, { Value: string }> };
    expect(doc.AsteriskManagerOutput['Response']!.Value).toBe('Success');
    expect(doc.AsteriskManagerOutput['ActionID']!.Value).toBe('p2');
    expect(doc.AsteriskManagerOutput['Ping']!.Value).toBe('Pong');

    from = c.rawText().length;
    c.sendAction([['ProxyAction', 'SetOutputFormat'], ['OutputFormat', 'yaml'], ['ActionID', 'a7']]);
    expect(await rawSince(c, from, '</AsteriskManagerProxyOutput>')).toContain('<ProxyResponse Value="Failure"/>');

    from = c.rawText().length;
    c.sendAction([['ProxyAction', 'Logoff']]);
    expect(await rawSince(c, from, '</AsteriskManagerProxyOutput>')).toBe(
      '<AsteriskManagerProxyOutput>\r\n <Response Value="Goodbye"/>\r\n <Message Value="Thanks for all the fish."/>\r\n</AsteriskManagerProxyOutput>\r\n\r\n',
    );
    await c.waitClosed();
  });
});

describe('autofilter', () => {
  it('on a listener with autofilter = on, and after SetAutoFilter, a client gets its own answers and no events', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', sim: { rate: 200 } }],
      listeners: [{ name: 'filtered', settings: { autofilter: 'on' } }],
    });
    const plain = await fx.loggedIn('alice', 'on');
    const filtered = await loggedInOn(fx, 1);
    const switched = await fx.loggedIn('alice', 'on');
    switched.sendAction([['ProxyAction', 'SetAutoFilter'], ['AutoFilter', 'on'], ['ActionID', 's']]);
    await proxyAnswer(switched, 's');
    const after = switched.messages.length;
    const filteredFrom = filtered.messages.length;
    await plain.waitForCount((m) => isEvent(m) && header(m, 'Event') !== 'FullyBooted', 20, 5000);
    filtered.sendAction([['Action', 'Ping'], ['ActionID', 'mine']]);
    expect(header(await filtered.waitFor(responseTo('mine')), 'Ping')).toBe('Pong');
    expect(filtered.count((m) => isEvent(m), filteredFrom)).toBe(0);
    expect(switched.count((m) => isEvent(m), after)).toBe(0);
    switched.sendAction([['ProxyAction', 'SetAutoFilter'], ['AutoFilter', 'off'], ['ActionID', 'o']]);
    expect(header(await proxyAnswer(switched, 'o'), 'AutoFilter')).toBe('0');
    await switched.waitFor((m) => isEvent(m), 5000, switched.messages.length);
  });
});
