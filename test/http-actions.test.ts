/**
 * Actions over HTTP against the simulated PBX: the click-to-call Originate with repeated
 * Variable parameters, EventLists and Command output returned whole, the output formats, and
 * 200 concurrent requests from several users each getting exactly its own answer.
 *
 * The tests that parse JSON, XML and CSV bodies depend on the formats in formats/ (re-checked
 * at the end of the HTTP work, once those had landed).
 */
import http from 'node:http';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { eventNamed, header, isEvent } from './helpers/ami-test-client.js';
import { amiMessages, httpRequest, hv, startHttpFixture, type AmiBodyMessage } from './helpers/http-fixture.js';
import { stopAllFixtures, waitUntil } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

/** A query string from ordered pairs (repeats allowed). */
function qs(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&');
}

const C2C_VARS: Array<[string, string]> = [
  ['Variable', 'C2C_SRC=201'],
  ['Variable', 'C2C_DST=00390212345678'],
  ['Variable', '__TENANT_UUID=5f0c6f2e-1b7a-4c1e-9d1e-2a3b4c5d6e7f'],
];

describe('an action by GET or POST', () => {
  it('GET /rawman runs one action and returns its response as raw AMI, with the ActionID', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/rawman?Action=Ping&ActionID=h1', { auth: 'alice' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache, no-store');
    expect(r.body).toMatch(/^Response: Success\r\nActionID: h1\r\nPing: Pong\r\nTimestamp: [\d.]+\r\n\r\n$/);
  });

  it('a form-encoded POST works the same (capture 16)', async () => {
    const h = await startHttpFixture();
    const r = await h.post('/rawman', 'Action=Ping&ActionID=post1', { auth: 'alice' });
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^Response: Success\r\nActionID: post1\r\nPing: Pong\r\n/);
  });

  it('the click-to-call Originate: the three Variable parameters reach the PBX as three Variable lines, in order', async () => {
    const h = await startHttpFixture();
    const observer = await h.fx.loggedIn('alice', 'on', 'observer');
    const query = qs([
      ['Action', 'Originate'], ['Channel', 'Local/200@test'], ['Application', 'Wait'], ['Data', '1'], ['Async', 'true'],
      ...C2C_VARS, ['ActionID', 'c2c'],
    ]);
    const r = await h.get(`/rawman?${query}`, { auth: 'alice' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('Response: Success\r\nActionID: c2c\r\nMessage: Originate successfully queued\r\n\r\n');
    // The simulated Asterisk raises a VarSet per variable: on ;2 in the order received, on ;1 in reverse.
    const names = new Set(['C2C_SRC', 'C2C_DST', '__TENANT_UUID']);
    const ours = (m: Parameters<typeof isEvent>[0]) => isEvent(m, 'VarSet') && names.has(header(m, 'Variable') ?? '');
    await observer.waitForCount(ours, 6, 5000);
    const setOn = (half: string) =>
      observer.filter((m) => ours(m) && (header(m, 'Channel') ?? '').endsWith(half)).map((m) => `${header(m, 'Variable')}=${header(m, 'Value')}`);
    const sent = C2C_VARS.map(([, v]) => v);
    expect(setOn(';2')).toEqual(sent);
    expect(setOn(';1')).toEqual([...sent].reverse());
    // Its OriginateResponse is an ordinary event for others: no ActionID of the HTTP request.
    const orig = await observer.waitFor(eventNamed('OriginateResponse'), 5000);
    expect(header(orig, 'ActionID')).toBeUndefined();
  });

  it('the Originate reaches the PBX byte for byte: parameters in order and case, only the ActionID replaced', async () => {
    const h = await startHttpFixture({
      pbxes: [{
        name: 'pbx1',
        scripted: {
          respond: (a) => {
            const id = a.headers.find(([n]) => n === 'ActionID')?.[1] ?? '';
            a.session.send([['Response', 'Success'], ['ActionID', id], ['Message', 'Originate successfully queued']]);
          },
        },
      }],
    });
    const pbx = h.fx.pbx('pbx1').scripted!;
    const query = qs([['Action', 'Originate'], ['Channel', 'PJSIP/201'], ['Exten', '00390212345678'], ['Async', 'true'], ...C2C_VARS, ['ActionID', 'c2c'], ['CallerID', '"Web" <201>']]);
    const r = await h.get(`/rawman?${query}`, { auth: 'alice' });
    expect(r.status).toBe(200);
    const [got] = await pbx.waitForAction('Originate');
    const proxyId = got!.headers.find(([n]) => n === 'ActionID')![1];
    expect(got!.raw).toBe(
      'Action: Originate\r\nChannel: PJSIP/201\r\nExten: 00390212345678\r\nAsync: true\r\n' +
        'Variable: C2C_SRC=201\r\nVariable: C2C_DST=00390212345678\r\nVariable: __TENANT_UUID=5f0c6f2e-1b7a-4c1e-9d1e-2a3b4c5d6e7f\r\n' +
        `ActionID: ${proxyId}\r\nCallerID: "Web" <201>\r\n\r\n`,
    );
  });

  it('a PBX\'s own Response: Error is a 200: the action ran', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/rawman?Action=Originate&ActionID=nochan', { auth: 'alice' });
    expect(r.status).toBe(200);
    const [msg] = amiMessages(r.body);
    expect(hv(msg!, 'Response')).toBe('Error');
    expect(hv(msg!, 'ActionID')).toBe('nochan');
    const unknown = await h.get('/rawman?Action=NoSuchAction', { auth: 'alice' });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toContain('Invalid/unknown command: NoSuchAction');
  });
});

/** Puts `n` calls up on the simulated PBX (Local/5NN@test answers and waits NN s). */
async function callsUp(h: Awaited<ReturnType<typeof startHttpFixture>>, n: number): Promise<void> {
  const c = await h.fx.loggedIn('alice', 'off', 'caller');
  for (let i = 0; i < n; i++) {
    const res = await c.action([['Action', 'Originate'], ['Channel', 'Local/520@test'], ['Application', 'Wait'], ['Data', '20'], ['Async', 'true'], ['ActionID', `up${i}`]]);
    expect(header(res, 'Response')).toBe('Success');
  }
  const sim = h.fx.pbx('pbx1').sim!;
  await waitUntil(() => sim.channels.size >= n * 2, 3000, 'the calls to be up');
}

function items(messages: AmiBodyMessage[], event: string): AmiBodyMessage[] {
  return messages.filter((m) => hv(m, 'Event') === event);
}

describe('complete answers', () => {
  it('an EventList returns the response, every item and the Complete event, however slowly the items come', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', sim: { listItemDelayMs: 40 } }] });
    await callsUp(h, 3);
    const t0 = Date.now();
    const r = await h.get('/rawman?Action=CoreShowChannels&ActionID=csc', { auth: 'alice' });
    const took = Date.now() - t0;
    expect(r.status).toBe(200);
    const msgs = amiMessages(r.body);
    expect(hv(msgs[0]!, 'Response')).toBe('Success');
    expect(hv(msgs[0]!, 'EventList')).toBe('start');
    const list = items(msgs, 'CoreShowChannel');
    const complete = msgs.at(-1)!;
    expect(hv(complete, 'Event')).toBe('CoreShowChannelsComplete');
    expect(hv(complete, 'EventList')).toBe('Complete');
    expect(list.length).toBeGreaterThanOrEqual(6);
    expect(Number(hv(complete, 'ListItems'))).toBe(list.length);
    expect(msgs).toHaveLength(list.length + 2);
    for (const m of msgs) expect(hv(m, 'ActionID')).toBe('csc');
    // It waited for the items (40 ms apart), and not much longer.
    expect(took).toBeGreaterThanOrEqual(40 * list.length - 20);
    expect(took).toBeLessThan(40 * list.length + 1500);
  });

  it('Status returns every channel with its items', async () => {
    const h = await startHttpFixture();
    await callsUp(h, 2);
    const r = await h.get('/rawman?Action=Status&ActionID=st', { auth: 'alice' });
    expect(r.status).toBe(200);
    const msgs = amiMessages(r.body);
    const list = items(msgs, 'Status');
    const complete = msgs.at(-1)!;
    expect(hv(complete, 'Event')).toBe('StatusComplete');
    expect(list.length).toBeGreaterThanOrEqual(4);
    expect(Number(hv(complete, 'ListItems'))).toBe(list.length);
    for (const m of msgs) expect(hv(m, 'ActionID')).toBe('st');
  });

  it('Command returns the whole output', async () => {
    const h = await startHttpFixture();
    const r = await h.get(`/rawman?${qs([['Action', 'Command'], ['Command', 'core show version'], ['ActionID', 'cmd']])}`, { auth: 'alice' });
    expect(r.status).toBe(200);
    const [msg, ...rest] = amiMessages(r.body);
    expect(rest).toEqual([]);
    expect(hv(msg!, 'Response')).toBe('Success');
    expect(hv(msg!, 'Message')).toBe('Command output follows');
    expect(hv(msg!, 'Output')).toMatch(/^Asterisk 22/);
  });

  it('Proxy actions work over HTTP; ProxySetFormat answers an error there', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1' }, { name: 'pbx2' }] });
    const r = await h.get('/rawman?Action=ProxyListServers&ActionID=pl', { auth: 'alice' });
    expect(r.status).toBe(200);
    const msgs = amiMessages(r.body);
    expect(items(msgs, 'ProxyServer').map((m) => hv(m, 'Server'))).toEqual(['pbx1', 'pbx2']);
    expect(hv(msgs.at(-1)!, 'Event')).toBe('ProxyListServersComplete');
    const f = await h.get('/rawman?Action=ProxySetFormat&Format=json', { auth: 'alice' });
    expect(f.status).toBe(200);
    expect(f.body).toMatch(/^Response: Error\r\nMessage: ProxySetFormat works on raw TCP connections/);
  });

  it('Server= picks the PBX, as on TCP', async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1' }, { name: 'pbx2', sim: { extra: { asteriskVersion: '20.1.0' } } }] });
    const r = await h.get('/rawman?Action=CoreSettings&Server=pbx2', { auth: 'alice' });
    expect(r.status).toBe(200);
    expect(hv(amiMessages(r.body)[0]!, 'AsteriskVersion')).toBe('20.1.0');
  });
});

describe('output formats (re-checked once the formats landed)', () => {
  it('/json, /mxml and /csv carry the same EventList, each read back by a standard parser', async () => {
    const h = await startHttpFixture();
    await callsUp(h, 1);
    const raw = amiMessages((await h.get('/rawman?Action=CoreShowChannels&ActionID=f', { auth: 'alice' })).body);
    const names = raw.map((m) => hv(m, 'Event') ?? hv(m, 'Response'));

    const j = await h.get('/json?Action=CoreShowChannels&ActionID=f', { auth: 'alice' });
    expect(j.status).toBe(200);
    expect(j.headers['content-type']).toMatch(/^application\/json/);
    const objects = JSON.parse(j.body) as Array<Record<string, string>>;
    expect(objects.map((o) => o.Event ?? o.Response)).toEqual(names);
    expect(objects.every((o) => o.ActionID === 'f')).toBe(true);

    const x = await h.get('/mxml?Action=CoreShowChannels&ActionID=f', { auth: 'alice' });
    expect(x.headers['content-type']).toMatch(/^text\/xml/);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(x.body) as {
      'ajax-response': { response: Array<{ generic: Record<string, string> }> | { generic: Record<string, string> } };
    };
    const responses = ([] as Array<{ generic: Record<string, string> }>).concat(doc['ajax-response'].response);
    expect(responses.map((r) => r.generic.event ?? r.generic.response)).toEqual(names);

    const c = await h.get('/csv?Action=CoreShowChannels&ActionID=f', { auth: 'alice' });
    expect(c.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(Buffer.from(c.body, 'latin1').toString('utf8'), { relax_column_count: true }) as string[][];
    expect(rows.map((row) => row[1])).toEqual(names);
  });

  it('on /action, format= and then the Accept header choose the format; errors come in it too', async () => {
    const h = await startHttpFixture();
    const byParam = await h.get('/action?Action=Ping&format=json', { auth: 'alice' });
    expect(byParam.headers['content-type']).toMatch(/^application\/json/);
    expect((JSON.parse(byParam.body) as Array<{ Ping: string }>)[0]!.Ping).toBe('Pong');
    const byAccept = await h.get('/action?Action=Ping', { auth: 'alice', headers: { Accept: 'application/json' } });
    expect(byAccept.headers['content-type']).toMatch(/^application\/json/);
    const plain = await h.get('/asterisk/?Action=Ping', { auth: 'alice' });
    expect(plain.headers['content-type']).toMatch(/^text\/plain/);
    const err = await h.get('/json?Action=Ping&Server=nowhere', { auth: 'alice' });
    expect(err.status).toBe(400);
    expect(JSON.parse(err.body)).toEqual([{ Response: 'Error', Message: 'Unknown server: nowhere' }]);
  });
});

describe('many clients at once', () => {
  it('200 concurrent requests from 5 users each get exactly their own answer', async () => {
    const users = ['u0', 'u1', 'u2', 'u3', 'u4'].map((name) => ({ name }));
    const h = await startHttpFixture({ users: [{ name: 'alice' }, ...users] });
    await callsUp(h, 2);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    try {
      const expectedItems = amiMessages((await h.get('/rawman?Action=CoreShowChannels', { auth: 'alice' })).body).length - 2;
      expect(expectedItems).toBeGreaterThanOrEqual(4);
      const requests = Array.from({ length: 200 }, (_, i) => {
        const user = users[i % users.length]!.name;
        const id = `${user}-${i}`;
        const action = i % 2 === 0 ? 'Ping' : 'CoreShowChannels';
        return httpRequest(h.port, h.host, `/rawman?Action=${action}&ActionID=${id}`, {
          agent,
          headers: { Authorization: h.basic(user) },
        }).then((r) => ({ r, id, action }));
      });
      const results = await Promise.all(requests);
      for (const { r, id, action } of results) {
        expect(r.status).toBe(200);
        const msgs = amiMessages(r.body);
        for (const m of msgs) expect(hv(m, 'ActionID'), `${id}: ${r.body}`).toBe(id);
        if (action === 'Ping') {
          expect(msgs).toHaveLength(1);
          expect(hv(msgs[0]!, 'Ping')).toBe('Pong');
        } else {
          expect(msgs).toHaveLength(expectedItems + 2);
          expect(Number(hv(msgs.at(-1)!, 'ListItems'))).toBe(expectedItems);
        }
      }
    } finally {
      agent.destroy();
    }
  });
});
