/**
 * Output formats on raw TCP: chosen per listener ([listener] format), per user ([user] format)
 * or at run time (Action: ProxySetFormat); the input stays raw AMI. Each message is encoded
 * once per format whatever the number of clients using it.
 */
import net from 'node:net';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinFormats, FormatRegistry, type FormatModule } from '../src/formats.js';
import { header } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

/** A raw TCP client that keeps every byte, for formats the AMI test client cannot read. */
class RawClient {
  text = '';
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => (this.text += d.toString('utf8')));
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Complete lines received so far (a record or element per line in the line-based formats). */
  lines(): string[] {
    const all = this.text.split('\n');
    all.pop();
    return all.map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0);
  }

  async waitLines(predicate: (lines: string[]) => boolean, what: string): Promise<string[]> {
    await waitUntil(() => predicate(this.lines()), 5000, `${what}; received: ${JSON.stringify(this.text.slice(0, 600))}`);
    return this.lines();
  }

  close(): void {
    this.socket.destroy();
  }
}

const LOGIN = 'Action: Login\r\nUsername: alice\r\nSecret: alice-secret\r\nActionID: in\r\n\r\n';
const json = (line: string) => JSON.parse(line) as Record<string, unknown>;

describe('output format per listener', () => {
  it('a json listener writes its banner and every message as one JSON object per line, input raw AMI', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 50 } }], listeners: [{ name: 'mon', format: 'json' }] });
    const c = await RawClient.connect(fx.proxy.listeners[1]!.port);
    try {
      await c.waitLines((l) => l.length >= 1, 'a banner line');
      // The banner in the listener's format: a JSON object naming Asterisk Call Manager and its version.
      const banner = JSON.stringify(json(c.lines()[0]!));
      expect(banner).toContain('Asterisk Call Manager');
      expect(banner).toContain('11.0.0');
      c.send(LOGIN);
      const lines = await c.waitLines((l) => l.slice(1).some((x) => json(x)['Event'] !== undefined && json(x)['Event'] !== 'FullyBooted'), 'an event');
      const objects = lines.slice(1).map(json);
      expect(objects[0]).toMatchObject({ Response: 'Success', ActionID: 'in', Message: 'Authentication accepted' });
      const event = objects.find((o) => o['Event'] !== undefined && o['Event'] !== 'FullyBooted')!;
      expect(event['Server']).toBe('pbx1');
      expect(typeof event['Privilege']).toBe('string');
    } finally {
      c.close();
    }
  });

  it('the [general] listener stays raw AMI alongside', async () => {
    const fx = await startFixture({ listeners: [{ name: 'mon', format: 'json' }] });
    const c = await fx.loggedIn('alice', 'off');
    expect(c.banner).toBe('Asterisk Call Manager/11.0.0');
    expect(header(await c.action([['Action', 'Ping'], ['ActionID', 'p']]), 'Ping')).toBe('Pong');
  });
});

describe('output format per user', () => {
  it('a user with format = xml gets well-formed XML from its login response on', async () => {
    const fx = await startFixture({ users: [{ name: 'alice', format: 'xml' }] });
    const c = await RawClient.connect(fx.proxy.listeners[0]!.port);
    try {
      await c.waitLines((l) => l.length >= 1, 'the banner');
      expect(c.lines()[0]).toBe('Asterisk Call Manager/11.0.0'); // before login: the listener's format
      c.send(LOGIN + 'Action: Ping\r\nActionID: p1\r\n\r\n');
      const lines = await c.waitLines((l) => l.some((x) => x.includes('p1')), 'the Ping answer');
      const xml = lines.slice(1);
      const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });
      for (const line of xml) expect(XMLValidator.validate(line), line).toBe(true);
      const all = JSON.stringify(xml.map((l) => parser.parse(l) as unknown));
      expect(all).toContain('Authentication accepted');
      expect(all).toContain('Pong');
    } finally {
      c.close();
    }
  });
});

describe('ProxySetFormat', () => {
  it('switches a connection to csv, its own response included; an unknown format is an error in the old one', async () => {
    const fx = await startFixture();
    const c = await RawClient.connect(fx.proxy.listeners[0]!.port);
    try {
      c.send(LOGIN + 'Action: ProxySetFormat\r\nFormat: yaml\r\nActionID: bad\r\n\r\n');
      await waitUntil(() => c.text.includes('ActionID: bad'), 5000, 'the refusal');
      expect(c.text).toMatch(/Response: Error\r\nActionID: bad\r\nMessage: Unknown format: yaml[^\r]*\r\n\r\n/);
      const before = c.text.length;
      c.send('Action: ProxySetFormat\r\nFormat: csv\r\nActionID: fmt\r\n\r\nAction: Ping\r\nActionID: p2\r\n\r\n');
      await waitUntil(() => c.text.slice(before).includes('p2'), 5000, 'the Ping answer in csv');
      const records = parseCsv(c.text.slice(before), { relax_column_count: true }) as string[][];
      expect(records[0]).toEqual(expect.arrayContaining(['Response', 'Success', 'ActionID', 'fmt']));
      expect(records[1]).toEqual(expect.arrayContaining(['Response', 'Success', 'ActionID', 'p2', 'Ping', 'Pong']));
    } finally {
      c.close();
    }
  });
});

describe('encoding', () => {
  it('encodes each event once per format, whatever the number of clients of each format', async () => {
    const counts = new Map<string, number>();
    const counting = (f: FormatModule): FormatModule => ({
      ...f,
      encode(message) {
        // The broadcast copy (the sender's own copy carries its ActionID and is encoded for it alone).
        if (header(message, 'Event') === 'UserEvent' && header(message, 'ActionID') === undefined) {
          counts.set(f.name, (counts.get(f.name) ?? 0) + 1);
        }
        return f.encode(message);
      },
    });
    const builtin = builtinFormats();
    const formats = new FormatRegistry();
    for (const name of builtin.names()) formats.register(counting(builtin.get(name)!));
    const fx = await startFixture({ formats, listeners: [{ name: 'j', format: 'json' }, { name: 'x', format: 'xml' }] });
    const clients: RawClient[] = [];
    try {
      for (const listener of fx.proxy.listeners) {
        for (let i = 0; i < 5; i++) {
          const c = await RawClient.connect(listener.port);
          c.send(LOGIN);
          clients.push(c);
        }
      }
      await waitUntil(() => [...fx.proxy.hub.clients].filter((s) => s.authenticated).length === 15, 5000, 'fifteen logins');
      const sender = await fx.loggedIn('alice', 'off', 'sender');
      await sender.action([['Action', 'UserEvent'], ['UserEvent', 'Once'], ['ActionID', 'u']]);
      await waitUntil(() => clients.every((c) => c.text.includes('Once')), 5000, 'the UserEvent at every client');
      expect(Object.fromEntries(counts)).toEqual({ standard: 1, json: 1, xml: 1 });
    } finally {
      for (const c of clients) c.close();
    }
  });
});
