/**
 * Input formats: the registry, the xml and json readers as pure modules (bytes in, messages
 * out, any chunking), and [listener] input = xml / json over real sockets: login and actions.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { builtinInputs, DuplicateInputError, InputRegistry, type StreamInputModule } from '../src/inputs.js';
import { parseConfig } from '../src/config/index.js';
import { AmiTestClient, header, responseTo } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, type ProxyFixture } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

interface Read {
  messages: AmiMessage[];
  errors: Array<{ code: string; text: string; headers: readonly AmiHeader[] }>;
  blanks: number;
}

/** Feeds `text` to a fresh reader, in chunks of `size` bytes. */
function read(input: StreamInputModule, text: string, size = 1 << 20): Read {
  const out: Read = { messages: [], errors: [], blanks: 0 };
  const decoder = input.decoder({
    message: (m) => out.messages.push(m),
    blank: () => out.blanks++,
    error: (code, t, headers) => out.errors.push({ code, text: t, headers }),
  });
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) decoder.push(bytes.subarray(i, i + size));
  return out;
}

const inputs = builtinInputs();
const xml = inputs.stream('xml')!;
const json = inputs.stream('json')!;

describe('the input registry', () => {
  it('has standard, http, xml and json, case-insensitively; a second of a name is refused', () => {
    expect(inputs.names()).toEqual(['standard', 'http', 'xml', 'json']);
    expect(inputs.get('XML')).toBe(xml);
    expect(inputs.stream('http')).toBeUndefined();
    expect(() => new InputRegistry().register(xml).register(xml)).toThrow(DuplicateInputError);
  });

  it('an unknown input in a [listener] is a config error with its line', () => {
    expect(() => parseConfig('[server p]\nhost = h\nusername = u\nsecret = s\n[listener l]\nlisten = 127.0.0.1:0\ninput = yaml\n', 'x.conf')).toThrow(
      /x\.conf:7: bad value "yaml" for input: expected one of standard, http, xml, json/,
    );
  });
});

describe('the xml input', () => {
  const block = '<AsteriskManagerInput>\n <Action Value="Originate"/>\n <Variable Value="A=1"/>\n <Variable Value="B=&lt;2&gt;"/>\n <Header Name="Odd(1)" Value="x"/>\n <Data Value="caf\u00e9"/>\n</AsteriskManagerInput>\n\n';

  it('reads a block up to the empty line as one action, in order, repeats kept, in any chunks', () => {
    for (const size of [1, 7, 1 << 20]) {
      const r = read(xml, block + block.replace('Originate', 'Ping'), size);
      expect(r.errors).toEqual([]);
      expect(r.messages.map((m) => m.headers)).toEqual([
        [['Action', 'Originate'], ['Variable', 'A=1'], ['Variable', 'B=<2>'], ['Odd(1)', 'x'], ['Data', 'caf\u00c3\u00a9']],
        [['Action', 'Ping'], ['Variable', 'A=1'], ['Variable', 'B=<2>'], ['Odd(1)', 'x'], ['Data', 'caf\u00c3\u00a9']],
      ]);
    }
  });

  it('refuses what is not one well-formed element, and a value that would split the action; reads on', () => {
    const r = read(xml, '<AsteriskManagerInput>\n <Action Value="Ping">\n\n<Other/>\n\n<AsteriskManagerInput>\n <Action Value="a&#10;b"/>\n</AsteriskManagerInput>\n\n' + block);
    expect(r.errors.map((e) => e.code)).toEqual(['BAD_XML', 'BAD_XML', 'BAD_HEADER']);
    expect(r.errors[1]!.text).toBe('XML input must be one <AsteriskManagerInput> element');
    expect(r.messages).toHaveLength(1);
  });
});

describe('the json input', () => {
  it('reads one object per line, arrays as repeated headers, in any chunks; empty lines ignored', () => {
    const text = '{"Action":"Originate","Variable":["A=1","B=2"],"Priority":1}\r\n\n{"Action":"Ping"}\n';
    for (const size of [1, 5, 1 << 20]) {
      const r = read(json, text, size);
      expect(r.errors).toEqual([]);
      expect(r.messages.map((m) => m.headers)).toEqual([
        [['Action', 'Originate'], ['Variable', 'A=1'], ['Variable', 'B=2'], ['Priority', '1']],
        [['Action', 'Ping']],
      ]);
    }
  });

  it('refuses a line that is no object, a nested value, a CR in a value; reads on', () => {
    const r = read(json, '[1]\n{"Action":{"x":1}}\n{"Action":"a\\rb","ActionID":"7"}\nnot json\n{"Action":"Ping"}\n');
    expect(r.errors.map((e) => e.code)).toEqual(['BAD_JSON', 'BAD_JSON', 'BAD_HEADER', 'BAD_JSON']);
    expect(r.errors[2]!.headers).toContainEqual(['ActionID', '7']);
    expect(r.messages).toHaveLength(1);
  });
});

async function connect(fx: ProxyFixture, index: number): Promise<AmiTestClient> {
  const l = fx.proxy.listeners[index]!;
  return AmiTestClient.connect(l.port, l.host);
}

const xmlAction = (headers: ReadonlyArray<readonly [string, string]>) =>
  '<AsteriskManagerInput>\r\n' + headers.map(([n, v]) => ` <${n} Value="${v}"/>\r\n`).join('') + '</AsteriskManagerInput>\r\n\r\n';

describe('[listener] input = xml / json over a socket', () => {
  it('logs in and runs actions in XML; a malformed block gets an error and the session goes on', async () => {
    const fx = await startFixture({ listeners: [{ name: 'x', settings: { input: 'xml' } }] });
    const c = await connect(fx, 1);
    c.send(xmlAction([['Action', 'Login'], ['Username', 'alice'], ['Secret', 'alice-secret'], ['Events', 'off'], ['ActionID', 'l']]));
    expect(header(await c.waitFor(responseTo('l')), 'Message')).toBe('Authentication accepted');
    c.send('<AsteriskManagerInput>\r\n <Action Value="Ping"\r\n\r\n');
    expect(header(await c.waitFor((m) => header(m, 'Response') === 'Error'), 'Message')).toMatch(/^Malformed XML input/);
    c.send(xmlAction([['Action', 'Ping'], ['ActionID', 'p']]));
    expect(header(await c.waitFor(responseTo('p')), 'Ping')).toBe('Pong');
    expect(fx.logs.some((l) => l.includes('malformed input from client') && l.includes('"input":"xml"'))).toBe(true);
  });

  it('logs in and runs actions in JSON lines', async () => {
    const fx = await startFixture({ listeners: [{ name: 'j', settings: { input: 'json', format: 'json' } }] });
    const l = fx.proxy.listeners[1]!;
    const net = await import('node:net');
    const socket = net.connect(l.port, l.host);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
    socket.write('{"Action":"Login","Username":"alice","Secret":"alice-secret","Events":"off","ActionID":"l"}\n{"Action":"Ping","ActionID":"p"}\n');
    const deadline = Date.now() + 3000;
    while (!text.includes('"ActionID":"p"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines[1]).toMatchObject({ Response: 'Success', ActionID: 'l', Message: 'Authentication accepted' });
    expect(lines.at(-1)).toMatchObject({ Response: 'Success', ActionID: 'p', Ping: 'Pong' });
  });
});
