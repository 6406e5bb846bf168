/**
 * An astmanproxy site switching: its astmanproxy.conf and astmanproxy.users (written here in
 * astmanproxy's syntax, every key and every users-file field, bcrypt secrets made by bcryptjs)
 * imported with `amiplex import-astmanproxy`, checked with `--check`, started, and used over
 * real sockets as its clients use astmanproxy.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';

import { parseConfig } from '../src/config/index.js';
import { startProxy, type RunningProxy } from '../src/daemon.js';
import { AmiTestClient } from './helpers/ami-test-client.js';
import { httpRequest } from './helpers/http-fixture.js';
import { ScriptedPbx, startSim, waitUntil } from './helpers/proxy-fixture.js';

const CLI = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'amiplex-import-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Imports the files with the CLI, checks the result with --check, and starts it. */
async function importAndStart(confText: string, usersText?: string): Promise<{ proxy: RunningProxy; conf: string; warnings: string[]; dir: string }> {
  const dir = tempDir();
  const confFile = join(dir, 'astmanproxy.conf');
  writeFileSync(confFile, confText);
  const args = ['import-astmanproxy', confFile];
  if (usersText !== undefined) {
    writeFileSync(join(dir, 'astmanproxy.users'), usersText);
    args.push(join(dir, 'astmanproxy.users'));
  }
  const imported = await run(args);
  expect(imported.code, imported.stderr).toBe(0);
  const warnings = imported.stderr.split('\n').filter((l) => l !== '');
  const out = join(dir, 'proxy.conf');
  writeFileSync(out, imported.stdout);
  const check = await run(['--check', '--config', out]);
  expect(check.code, `${check.stderr}\n${imported.stdout}`).toBe(0);
  const proxy = await startProxy(parseConfig(imported.stdout, out));
  cleanups.push(() => proxy.stop());
  return { proxy, conf: imported.stdout, warnings, dir };
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (_n: string, _p: unknown, _l: boolean, attr: boolean) => !attr });

/** The headers of each astmanproxy XML element in a text, each element parsed as a document of its own. */
function xmlMessages(text: string): Array<{ root: string; h: Record<string, string> }> {
  const out: Array<{ root: string; h: Record<string, string> }> = [];
  for (const m of text.matchAll(/<(AsteriskManager(?:Proxy)?Output)>[\s\S]*?<\/\1>\r\n/g)) {
    const doc = xml.parse(m[0]) as Record<string, Array<Record<string, Array<{ Value: string }>>>>;
    const root = Object.keys(doc)[0]!;
    const h: Record<string, string> = {};
    for (const [name, items] of Object.entries(doc[root]![0]!)) h[name] = items.map((i) => i.Value).join('|');
    out.push({ root, h });
  }
  return out;
}

const xmlInput = (headers: ReadonlyArray<readonly [string, string]>) =>
  '<AsteriskManagerInput>\r\n' + headers.map(([n, v]) => ` <${n} Value="${v}"/>\r\n`).join('') + '</AsteriskManagerInput>\r\n\r\n';

/** Waits for the XML element answering `actionId` on a raw client and returns it. */
async function xmlAnswer(c: AmiTestClient, actionId: string): Promise<{ root: string; h: Record<string, string> }> {
  let found: { root: string; h: Record<string, string> } | undefined;
  await waitUntil(() => (found = xmlMessages(c.rawText()).find((m) => m.h['ActionID'] === actionId)) !== undefined, 3000, `an answer to ${actionId}`);
  return found!;
}

describe('import-astmanproxy', () => {
  it('an HTTP/XML site with no logins: every astmanproxy.conf key mapped, the click-to-call URL answered in XML without credentials', async () => {
    const { port: pbxPort, sim } = await startSim({});
    cleanups.push(() => sim.stop());
    const { proxy, conf, warnings } = await importAndStart(
      [
        '; astmanproxy.conf of a click-to-call site',
        `host = 127.0.0.1, ${pbxPort}, admin, admin, on, off`,
        'retryinterval = 1',
        'maxretries = 10',
        'sslclienthellotimeout = 200',
        'acceptencryptedconnection = no',
        'acceptunencryptedconnection = yes',
        'asteriskwritetimeout = 100',
        'clientwritetimeout = 200',
        'certfile = /var/lib/asterisk/certs/proxy-server.pem',
        'listenaddress = 127.0.0.1',
        'listenport = 0',
        'authrequired = no',
        'proxykey = foobar',
        'proc_user = nobody',
        'proc_group = nobody',
        'logfile = /var/log/asterisk/astmanproxy.log',
        'autofilter = on',
        'filterlocal = allow',
        'inputformat = http',
        'outputformat = xml',
        'forcebanner = Asterisk Call Manager/1.1',
        '',
      ].join('\n'),
    );
    // A comment above each section names the line it came from.
    expect(conf).toMatch(/; from \S+astmanproxy\.conf:2 \(host\)\n\[server 127\.0\.0\.1\]/);
    expect(conf).toMatch(/; from \S+astmanproxy\.conf:11 \(listenaddress\), \S+:12 \(listenport\), \S+:13 \(authrequired\), \S+:14 \(proxykey\)\n\[listener astmanproxy\]/);
    for (const key of ['maxretries', 'sslclienthellotimeout', 'asteriskwritetimeout', 'proc_user', 'proc_group', 'logfile', 'certfile']) {
      expect(conf, key).toMatch(new RegExp(`^; ${key} = .*(no meaning for amiplex|no certificate is needed)`, 'm'));
    }
    expect(conf).toContain('slow_client_timeout = 0.2');
    expect(conf).toContain('banner_version = 1.1');
    expect(conf).toContain('reconnect_max = 1');
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) expect(w).toMatch(/^warning: \S+astmanproxy\.conf:\d+: /);
    expect(warnings.some((w) => /:19: filterlocal = allow/.test(w))).toBe(true);
    await waitUntil(() => proxy.hub.servers.get('127.0.0.1')?.session.state === 'up', 5000, 'the PBX up');

    // The seeds' click-to-call URL: no credentials, astmanproxy's XML, Server: by host address.
    const web = proxy.httpListeners[0]!;
    const ping = await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=12345');
    expect(ping.status).toBe(200);
    expect(ping.headers['content-type']).toBe('text/xml');
    expect(xmlMessages(ping.body)).toEqual([{ root: 'AsteriskManagerOutput', h: expect.objectContaining({ Response: 'Success', ActionID: '12345', Ping: 'Pong', Server: '127.0.0.1' }) }]);
    const originate = await httpRequest(
      web.port, web.host,
      '/?Action=Originate&Channel=Local/100@test&Application=Wait&Data=1&Variable=C2C_SRC=201&Variable=C2C_DST=0039123&ActionID=c2c',
    );
    expect(xmlMessages(originate.body)[0]!.h).toMatchObject({ Response: 'Success', ActionID: 'c2c', Server: '127.0.0.1' });
    // A whole EventList, every message of it a well-formed document naming its server.
    const list = xmlMessages((await httpRequest(web.port, web.host, '/?Action=CoreShowChannels&ActionID=l')).body);
    expect(list.at(-1)!.h['Event']).toBe('CoreShowChannelsComplete');
    expect(list.every((m) => m.h['Server'] === '127.0.0.1')).toBe(true);
    // ProxyKey still logs in.
    expect(xmlMessages((await httpRequest(web.port, web.host, '/?Action=Ping&ActionID=k&ProxyKey=foobar')).body)[0]!.h['Ping']).toBe('Pong');
  });

  it('a raw XML site with astmanproxy.users: bcrypt logins, ProxyActions, SetOutputFormat, Server: routing, device and context limits', async () => {
    // A PBX that queues every Originate (amiplex sends it with Async: true) and reports it placed.
    const pbx = new ScriptedPbx({
      respond: (a) => {
        const id = a.headers.find(([n]) => n === 'ActionID')?.[1] ?? '';
        a.session.send([['Response', 'Success'], ['ActionID', id], ['Message', 'Originate successfully queued']]);
        a.session.send([['Event', 'OriginateResponse'], ['Privilege', 'call,all'], ['ActionID', id], ['Response', 'Success'], ['Channel', 'SIP/snom190-00000001']]);
      },
    });
    const { port: pbxPort } = await pbx.start();
    cleanups.push(() => pbx.stop());
    const steveHash = bcrypt.hashSync('steve-secret', 4).replace(/^\$2b\$/, '$2y$');
    const daveHash = bcrypt.hashSync('dave-secret', 4);
    const { proxy, conf, warnings } = await importAndStart(
      [
        `host = 127.0.0.1, ${pbxPort}, admin, admin, on, off`,
        'listenaddress = 127.0.0.1',
        'listenport = 0',
        'authrequired = yes',
        'inputformat = xml',
        'outputformat = xml',
        'autofilter = off',
        '',
      ].join('\n'),
      [
        '; user=secret,channel,out_context,in_context,accountcode,server,more_events,filters',
        `steve=${steveHash},SIP/snom190,local,from-pbx,acct1,127.0.0.1,yes,cdronly|novar`,
        `dave=${daveHash}`,
        'bill=plain-secret,,,,,,,xfronly|brionly',
        '',
      ].join('\n'),
    );
    expect(conf).toMatch(/; from \S+astmanproxy\.users:2\n\[user steve\]\nsecret_hash = \$2y\$04\$/);
    expect(conf).toContain('events = Cdr');
    expect(conf).toContain('events = *Transfer*, Bridge*');
    expect(warnings.some((w) => /astmanproxy\.users:2: in_context from-pbx of steve/.test(w))).toBe(true);
    expect(warnings.some((w) => /astmanproxy\.users:2: accountcode acct1 of steve/.test(w))).toBe(true);
    await waitUntil(() => proxy.hub.servers.get('127.0.0.1')?.session.state === 'up', 5000, 'the PBX up');

    const l = proxy.listeners[1]!;
    const c = await AmiTestClient.connect(l.port, l.host);
    cleanups.push(() => c.close());
    // XML input login with a $2y$ bcrypt secret.
    c.send(xmlInput([['Action', 'Login'], ['Username', 'steve'], ['Secret', 'steve-secret'], ['Events', 'off'], ['ActionID', 'l1']]));
    expect((await xmlAnswer(c, 'l1')).h).toMatchObject({ Response: 'Success', Message: 'Authentication accepted' });
    expect((await xmlAnswer(c, 'l1')).root).toBe('AsteriskManagerProxyOutput');
    // Actions in XML, routed by host address, Server: on the answer.
    c.send(xmlInput([['Action', 'Ping'], ['Server', '127.0.0.1'], ['ActionID', 'p1']]));
    expect((await xmlAnswer(c, 'p1')).h).toMatchObject({ Response: 'Success', Ping: 'Pong', Server: '127.0.0.1' });
    expect((await xmlAnswer(c, 'p1')).root).toBe('AsteriskManagerOutput');
    // ProxyActions in XML input.
    c.send(xmlInput([['ProxyAction', 'ListIOHandlers'], ['ActionID', 'io']]));
    expect((await xmlAnswer(c, 'io')).h).toMatchObject({ ProxyResponse: 'Success', InputHandler: 'standard|http|xml|json' });
    c.send(xmlInput([['ProxyAction', 'ListServers'], ['ActionID', 'ls']]));
    expect((await xmlAnswer(c, 'ls')).root).toBe('AsteriskManagerProxyOutput');
    // Device restriction from the users file: only SIP/snom190.
    c.send(xmlInput([['Action', 'Originate'], ['Channel', 'SIP/other'], ['Exten', '100'], ['Context', 'x'], ['Priority', '1'], ['ActionID', 'o1']]));
    expect((await xmlAnswer(c, 'o1')).h).toMatchObject({ Response: 'Error', Message: 'Permission denied' });
    // Context restriction: out_context replaces the one asked for.
    c.send(xmlInput([['Action', 'Originate'], ['Channel', 'SIP/snom190'], ['Exten', '100'], ['Context', 'elsewhere'], ['Priority', '1'], ['ActionID', 'o2']]));
    expect((await xmlAnswer(c, 'o2')).h['Response']).toBe('Success');
    const [sent] = await pbx.waitForAction('Originate');
    expect(sent!.headers).toContainEqual(['Context', 'local']);
    expect(sent!.headers).toContainEqual(['Channel', 'SIP/snom190']);

    // SetOutputFormat switches a raw client from XML to standard mid-session, and back.
    const d = await AmiTestClient.connect(l.port, l.host);
    cleanups.push(() => d.close());
    d.send(xmlInput([['Action', 'Login'], ['Username', 'dave'], ['Secret', 'dave-secret'], ['ActionID', 'l2']]));
    await xmlAnswer(d, 'l2');
    d.send(xmlInput([['ProxyAction', 'SetOutputFormat'], ['OutputFormat', 'standard'], ['ActionID', 'f1']]));
    await waitUntil(() => d.rawText().includes('ProxyResponse: Success\r\nActionID: f1\r\nOutputFormat: standard\r\n\r\n'), 3000, 'SetOutputFormat answered in standard');
    d.send(xmlInput([['ProxyAction', 'SetOutputFormat'], ['OutputFormat', 'xml'], ['ActionID', 'f2']]));
    expect((await xmlAnswer(d, 'f2')).h).toMatchObject({ ProxyResponse: 'Success', OutputFormat: 'xml' });
    // A wrong secret for a bcrypt user fails as any login.
    const wrong = await AmiTestClient.connect(l.port, l.host);
    cleanups.push(() => wrong.close());
    wrong.send(xmlInput([['Action', 'Login'], ['Username', 'dave'], ['Secret', 'nope'], ['ActionID', 'w']]));
    expect((await xmlAnswer(wrong, 'w')).h).toMatchObject({ Response: 'Error', Message: 'Authentication failed' });
    await wrong.waitClosed();
  });

  it('an anonymous listener not limited by address is refused by --check, with its line', async () => {
    const dir = tempDir();
    const confFile = join(dir, 'astmanproxy.conf');
    writeFileSync(confFile, 'host = 127.0.0.1, 5038, admin, admin, on, off\nlistenaddress = *\nauthrequired = no\n');
    const imported = await run(['import-astmanproxy', confFile]);
    expect(imported.stderr).toMatch(/astmanproxy\.conf:3: authrequired = no on 0\.0\.0\.0:1234: amiplex takes anonymous clients only from the networks its permit lines list/);
    const out = join(dir, 'proxy.conf');
    writeFileSync(out, imported.stdout);
    expect((await run(['--check', '--config', out])).code).toBe(0);
    // Without the permit line the importer wrote, --check refuses it.
    writeFileSync(out, imported.stdout.replace(/^permit = .*$/m, ''));
    const check = await run(['--check', '--config', out]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/proxy\.conf:\d+: anonymous_user in \[listener astmanproxy\] lets anyone who can reach 0\.0\.0\.0:1234 act as "astmanproxy-anonymous" without a login/);
  });
});
