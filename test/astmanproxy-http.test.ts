/**
 * astmanproxy's URLs over real HTTP: an Action at `/` or at any path that serves nothing else
 * runs it (GET query or POST form), `/` without one is still the status page; a [listener] with
 * input = http answers in its own format (astmanproxy's XML here), whole EventLists included.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';

import { httpRequest, startHttpFixture } from './helpers/http-fixture.js';
import { startFixture, stopAllFixtures } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (_n: string, _p: unknown, _l: boolean, attr: boolean) => !attr });

/** Each `<AsteriskManager…Output>` element of an astmanproxy XML body, parsed on its own (each must be a well-formed document). */
function elements(body: string): Array<{ root: string; headers: Record<string, string[]> }> {
  const out: Array<{ root: string; headers: Record<string, string[]> }> = [];
  for (const m of body.matchAll(/<(AsteriskManager(?:Proxy)?Output)>[\s\S]*?<\/\1>\r\n/g)) {
    const doc = parser.parse(m[0]) as Record<string, Array<Record<string, Array<{ Value: string; Name?: string }>>>>;
    const root = Object.keys(doc)[0]!;
    const headers: Record<string, string[]> = {};
    for (const [name, items] of Object.entries(doc[root]![0]!)) headers[name] = items.map((i) => i.Value);
    out.push({ root, headers });
  }
  return out;
}

describe('an Action at any path', () => {
  it('runs at / by GET and POST; / without one is still the status page', async () => {
    const h = await startHttpFixture({ users: [{ name: 'alice', secret: 'alice-secret', settings: { status: 'yes' } }] });
    const ping = await h.get('/?Action=Ping&ActionID=12345', { auth: 'alice' });
    expect(ping.status).toBe(200);
    expect(ping.body).toMatch(/^Response: Success\r\nActionID: 12345\r\nPing: Pong\r\n/);
    const posted = await h.post('/', 'Action=Ping&ActionID=p2', { auth: 'alice' });
    expect(posted.status).toBe(200);
    expect(posted.body).toContain('ActionID: p2\r\n');
    const page = await h.get('/', { auth: 'alice' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect((await h.post('/', 'x=1', { auth: 'alice' })).status).toBe(405);
  });

  it('runs at a path that serves nothing else; without an Action that path is still unknown', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/cgi-bin/click2call?Action=Ping&ActionID=c1&format=json', { auth: 'alice' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)[0]).toMatchObject({ Response: 'Success', ActionID: 'c1', Ping: 'Pong' });
    expect((await h.post('/anything', 'Action=Ping&ActionID=c2', { auth: 'alice' })).body).toContain('ActionID: c2');
    expect((await h.get('/nothing-here', { auth: 'alice' })).status).toBe(404);
    expect((await h.post('/nothing-here', 'a=b', { auth: 'alice' })).status).toBe(404);
    expect((await h.get('/events?Action=Ping', { auth: 'alice' })).status).toBe(400);
  });
});

describe('a [listener] with input = http', () => {
  it("answers in its own format: astmanproxy's XML, a well-formed element per message, a whole EventList", async () => {
    const fx = await startFixture({ listeners: [{ name: 'web', settings: { input: 'http', format: 'astmanproxy-xml' } }] });
    const web = fx.proxy.httpListeners[0]!;
    const auth = { Authorization: 'Basic ' + Buffer.from('alice:alice-secret').toString('base64') };
    const ping = await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=12345', { headers: auth });
    expect(ping.status).toBe(200);
    expect(ping.headers['content-type']).toBe('text/xml');
    expect(ping.body).toMatch(/^<AsteriskManagerOutput>\r\n <Response Value="Success"\/>\r\n <ActionID Value="12345"\/>\r\n <Ping Value="Pong"\/>\r\n/);
    expect(elements(ping.body)).toHaveLength(1);

    const list = await httpRequest(web.port, web.host, '/?Action=ListCommands&ActionID=12345', { headers: auth });
    const [answer] = elements(list.body);
    expect(answer!.root).toBe('AsteriskManagerOutput');
    expect(answer!.headers['ActionID']).toEqual(['12345']);
    expect(answer!.headers['Ping']).toEqual([expect.stringContaining('Keepalive')]);
    expect(list.body).not.toContain('UnparsedText');

    const channels = await httpRequest(web.port, web.host, '/?Action=CoreShowChannels&ActionID=l1', { headers: auth });
    const parts = elements(channels.body);
    expect(parts.at(-1)!.headers['Event']).toEqual(['CoreShowChannelsComplete']);

    const unknown = await httpRequest(web.port, web.host, '/?Action=Bogus&ActionID=9', { headers: auth });
    expect(elements(unknown.body).map((e) => e.headers['Response'])).toEqual([['Error']]);
    // Missing credentials: an amiplex answer, in the listener's format.
    const refused = await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=1');
    expect(refused.status).toBe(401);
    expect(elements(refused.body)[0]!.root).toBe('AsteriskManagerProxyOutput');
    // Its own paths keep theirs.
    expect((await httpRequest(web.port, web.host, '/rawman?Action=Ping', { headers: auth })).body).toMatch(/^Response: Success/);
  });
});
