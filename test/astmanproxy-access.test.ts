/**
 * What an astmanproxy site's access habits become, over real sockets: a PBX named by its host
 * address (routing with `Server:`, and `Server:` on every message of its answers), the
 * anonymous listener (never by accident: refused unless limited by address, logged at start),
 * and ProxyKey as a one-step login.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';

import { parseConfig } from '../src/config/index.js';
import { AmiTestClient, header, responseTo } from './helpers/ami-test-client.js';
import { httpRequest } from './helpers/http-fixture.js';
import { startFixture, stopAllFixtures } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

describe('a PBX named by its host address', () => {
  it('routes Server: 127.0.0.1 and names it on every message of an answer for server_header_answers users', async () => {
    const fx = await startFixture({
      pbxes: [{ name: '127.0.0.1' }, { name: 'second' }],
      users: [{ name: 'alice', secret: 'alice-secret', settings: { server_header_answers: 'yes' } }, { name: 'bob', secret: 'bob-secret' }],
    });
    const c = await fx.loggedIn('alice', 'off');
    c.sendAction([['Action', 'Ping'], ['ActionID', 'p'], ['Server', '127.0.0.1']]);
    expect(header(await c.waitFor(responseTo('p')), 'Server')).toBe('127.0.0.1');
    c.sendAction([['Action', 'Ping'], ['ActionID', 'q'], ['Server', 'second']]);
    expect(header(await c.waitFor(responseTo('q')), 'Server')).toBe('second');
    const list = await c.list([['Action', 'CoreShowChannels'], ['ActionID', 'l'], ['Server', '127.0.0.1']]);
    expect([list.response, ...list.items, list.complete].every((m) => header(m, 'Server') === '127.0.0.1')).toBe(true);
    // amiplex's own answers name no PBX.
    c.sendAction([['Action', 'Ping'], ['ActionID', 'x'], ['Server', 'nowhere']]);
    const refused = await c.waitFor(responseTo('x'));
    expect(header(refused, 'Message')).toBe('Unknown server: nowhere');
    expect(header(refused, 'Server')).toBeUndefined();
    // Others get answers exactly as the PBX wrote them.
    const bob = await fx.loggedIn('bob', 'off');
    bob.sendAction([['Action', 'Ping'], ['ActionID', 'b']]);
    expect(header(await bob.waitFor(responseTo('b')), 'Server')).toBeUndefined();
  });
});

const SERVER = '[server pbx]\nhost = 127.0.0.1\nusername = u\nsecret = s\n[user web]\nsecret = w\n';

describe('the anonymous listener', () => {
  it('is refused unless limited by address: loopback, or permit lines none of which is everything', () => {
    const conf = (listener: string) => `${SERVER}[listener open]\n${listener}`;
    expect(() => parseConfig(conf('listen = 0.0.0.0:1234\nanonymous_user = web\n'), 'a.conf')).toThrow(
      /a\.conf:9: anonymous_user in \[listener open\] lets anyone who can reach 0\.0\.0\.0:1234 act as "web" without a login/,
    );
    expect(() => parseConfig(conf('listen = 0.0.0.0:1234\npermit = 0.0.0.0/0\nanonymous_user = web\n'), 'a.conf')).toThrow(/anonymous_user/);
    expect(() => parseConfig(conf('listen = 127.0.0.1:1234\nanonymous_user = nobody\n'), 'a.conf')).toThrow(/names unknown user "nobody"/);
    expect(parseConfig(conf('listen = 127.0.0.1:1234\nanonymous_user = web\n'), 'a.conf').listeners[0]!.anonymousUser).toBe('web');
    expect(parseConfig(conf('listen = 0.0.0.0:1234\npermit = 10.0.0.0/8\nanonymous_user = web\n'), 'a.conf').listeners[0]!.anonymousUser).toBe('web');
  });

  it('answers the click-to-call URL with no credentials in XML, as its user; raw clients act as it too; logged at start', async () => {
    const fx = await startFixture({
      users: [{ name: 'web', secret: 'web-secret', settings: { actions: 'Ping, Originate' } }, { name: 'alice', secret: 'alice-secret' }],
      listeners: [
        { name: 'c2c', settings: { input: 'http', format: 'astmanproxy-xml', anonymous_user: 'web' } },
        { name: 'raw', settings: { anonymous_user: 'web' } },
      ],
    });
    expect(fx.logs.filter((l) => l.includes('anonymous listener')).length).toBe(2);
    const web = fx.proxy.httpListeners[0]!;
    const r = await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=12345');
    expect(r.status).toBe(200);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(r.body) as { AsteriskManagerOutput: Record<string, { Value: string }> };
    expect(doc.AsteriskManagerOutput['ActionID']!.Value).toBe('12345');
    expect(doc.AsteriskManagerOutput['Ping']!.Value).toBe('Pong');
    // The anonymous user's permissions hold.
    expect((await httpRequest(web.port, web.host, '/?Action=CoreShowChannels&ActionID=1')).status).toBe(403);

    const raw = fx.proxy.listeners[1]!;
    const c = await AmiTestClient.connect(raw.port, raw.host);
    c.sendAction([['Action', 'Ping'], ['ActionID', 'p']]);
    expect(header(await c.waitFor(responseTo('p')), 'Ping')).toBe('Pong');
    c.sendAction([['Action', 'Status'], ['ActionID', 's']]);
    expect(header(await c.waitFor(responseTo('s')), 'Message')).toBe('Permission denied');
    // A login as another user takes over.
    c.sendAction([['Action', 'Login'], ['Username', 'alice'], ['Secret', 'alice-secret'], ['Events', 'off'], ['ActionID', 'l']]);
    expect(header(await c.waitFor(responseTo('l')), 'Message')).toBe('Authentication accepted');
    c.sendAction([['Action', 'Status'], ['ActionID', 's2']]);
    expect(header(await c.waitFor(responseTo('s2')), 'Response')).toBe('Success');
    // A plain listener still wants a login.
    const plain = await fx.client();
    plain.sendAction([['Action', 'Ping'], ['ActionID', 'n']]);
    expect(header(await plain.waitFor(responseTo('n')), 'Message')).toBe('Permission denied');
  });
});

describe('ProxyKey', () => {
  it('logs a raw client in as proxy_key_user with the action it rides on; a wrong key fails as a login; never reaches the PBX', async () => {
    const fx = await startFixture({
      pbxes: [{ name: 'pbx1', scripted: {} }],
      users: [{ name: 'keyed', secret: 'foobar' }],
      listeners: [{ name: 'k', settings: { proxy_key_user: 'keyed' } }],
    });
    const l = fx.proxy.listeners[1]!;
    const c = await AmiTestClient.connect(l.port, l.host);
    c.sendAction([['Action', 'Ping'], ['ProxyKey', 'foobar'], ['ActionID', 'p']]);
    expect(header(await c.waitFor(responseTo('p')), 'Ping')).toBe('Pong');
    c.sendAction([['ProxyKey', 'foobar'], ['Action', 'Ping'], ['ActionID', 'q']]);
    expect(header(await c.waitFor(responseTo('q')), 'Ping')).toBe('Pong');
    expect(fx.logs.some((line) => line.includes('client logged in by ProxyKey') && line.includes('"user":"keyed"'))).toBe(true);
    c.sendAction([['Action', 'UserEvent'], ['UserEvent', 'x'], ['ProxyKey', 'foobar'], ['ActionID', 'u']]);
    const [forwarded] = await fx.pbx('pbx1').scripted!.waitForAction('UserEvent');
    expect(forwarded!.raw).toContain('UserEvent: x');
    expect(forwarded!.raw).not.toContain('ProxyKey');

    const alone = await AmiTestClient.connect(l.port, l.host);
    alone.sendAction([['ProxyKey', 'foobar'], ['ActionID', 'k']]);
    expect(header(await alone.waitFor(responseTo('k')), 'Message')).toBe('Authentication accepted');

    const wrong = await AmiTestClient.connect(l.port, l.host);
    wrong.sendAction([['Action', 'Ping'], ['ProxyKey', 'nope'], ['ActionID', 'w']]);
    expect(header(await wrong.waitFor(responseTo('w')), 'Message')).toBe('Authentication failed');
    await wrong.waitClosed();
    // On a listener without proxy_key_user a ProxyKey is nothing.
    const other = await fx.client();
    other.sendAction([['Action', 'Ping'], ['ProxyKey', 'foobar'], ['ActionID', 'o']]);
    expect(header(await other.waitFor(responseTo('o')), 'Message')).toBe('Permission denied');
  });

  it('over HTTP, a ProxyKey parameter is the login of that request', async () => {
    const fx = await startFixture({
      users: [{ name: 'keyed', secret: 'foobar' }],
      listeners: [{ name: 'k', settings: { input: 'http', proxy_key_user: 'keyed' } }],
    });
    const web = fx.proxy.httpListeners[0]!;
    const ok = await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=1&ProxyKey=foobar');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('Ping: Pong');
    expect((await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=1&ProxyKey=bad')).status).toBe(401);
    expect((await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=1')).status).toBe(401);
  });
});
