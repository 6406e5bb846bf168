/**
 * The command line, run as a real process from `dist/` (`npm test` builds first):
 * `--check` reports every config error with FILE:LINE and exits 1 (0 for a good config), and
 * demo mode (no config anywhere) starts the simulator and amiplex on 127.0.0.1:1234 and prints
 * an `nc` line with which a real client logs in as demo/demo and receives events.
 */
import { makeTestPki } from './helpers/test-certs.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, onTestFinished, describe, expect, it } from 'vitest';
import { AmiTestClient, eventNamed, header, isEvent } from './helpers/ami-test-client.js';
import { httpRequest } from './helpers/http-fixture.js';

const CLI = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));

const children = new Set<ChildProcess>();
const dirs: string[] = [];
const clients: AmiTestClient[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          children.delete(child);
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'amiplex-cli-'));
  dirs.push(d);
  return d;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd: string, timeoutMs = 10_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => reject(new Error(`amiplex ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`)), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('amiplex --check', () => {
  it('the CLI has been built (npm test builds first)', () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
  });

  it('reports every error of a broken config with FILE:LINE and exits 1', async () => {
    const dir = tempDir();
    const file = join(dir, 'broken.conf');
    writeFileSync(
      file,
      [
        '[general]', //                      1
        'listen = 127.0.0.1:0', //            2
        'action_timout = 5', //               3  unknown key (typo)
        '', //                                4
        '[server pbx1]', //                   5
        'host = 127.0.0.1', //                6
        'port = not-a-port', //               7  bad value
        'username = admin', //                8
        'secret = admin', //                  9
        '', //                               10
        '[user alice]', //                   11
        'secret = s', //                     12
        'servers = pbx1, pbx9', //           13 unknown server
        '', //                               14
        '[usr bob]', //                      15 unknown section
        'secret = t', //                     16
        '',
      ].join('\n'),
    );
    const r = await run(['--check', '--config', file], dir);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const out = r.stderr + r.stdout;
    for (const line of [3, 7, 13, 15]) expect(out, `no error reported at ${file}:${line}\n${out}`).toContain(`${file}:${line}:`);
    expect(out).toContain('action_timout');
    expect(out).toContain('pbx9');
  });

  it('exits 0 on a good config', async () => {
    const dir = tempDir();
    const file = join(dir, 'good.conf');
    writeFileSync(
      file,
      ['[general]', 'listen = 127.0.0.1:0', '', '[server pbx1]', 'host = 127.0.0.1', 'username = admin', 'secret = admin', '', '[user alice]', 'secret = s', ''].join('\n'),
    );
    const r = await run(['--check', '--config', file], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('checks the TLS files: a missing pair is a note (generated at start, not by --check); a half pair, a wrong key or an unreadable CA is an error', async () => {
    const dir = tempDir();
    const file = join(dir, 'tls.conf');
    const base = ['[general]', 'listen_tls = 127.0.0.1:0', '', '[server pbx1]', 'host = 127.0.0.1', 'username = admin', 'secret = admin'];
    writeFileSync(file, [...base, '', '[user alice]', 'secret = s', ''].join('\n'));
    const missing = await run(['--check', '--config', file], dir);
    expect(missing.code, missing.stdout + missing.stderr).toBe(0);
    expect(missing.stdout).toContain(`note: tls_cert ${join(dir, 'certs/amiplex.pem')} and tls_key ${join(dir, 'certs/amiplex.key')} are missing`);
    expect(existsSync(join(dir, 'certs'))).toBe(false);

    const pki = makeTestPki();
    try {
      // The server certificate with the CA's key; a client CA that is not there; a PBX CA that is not PEM.
      writeFileSync(file, [
        '[general]', 'listen_tls = 127.0.0.1:0', `tls_cert = ${pki.server.certFile}`, `tls_key = ${pki.ca.keyFile}`, 'tls_client_ca = no-such-ca.pem', '',
        '[server pbx1]', 'host = 127.0.0.1', 'username = admin', 'secret = admin', 'tls = yes', `tls_ca = ${pki.server.keyFile}`, '',
        '[user alice]', 'secret = s', '',
      ].join('\n'));
      const bad = await run(['--check', '--config', file], dir);
      expect(bad.code, bad.stdout + bad.stderr).toBe(1);
      expect(bad.stderr).toContain(`tls_key ${pki.ca.keyFile} is not the key of the certificate in tls_cert ${pki.server.certFile}`);
      expect(bad.stderr).toContain(`tls_client_ca ${join(dir, 'no-such-ca.pem')}: cannot be read (ENOENT)`);
      expect(bad.stderr).toContain(`[server pbx1] tls_ca ${pki.server.keyFile}: not PEM`);

      writeFileSync(file, ['[general]', 'listen_tls = 127.0.0.1:0', `tls_cert = ${pki.server.certFile}`, 'tls_key = gone.key', '', ...base.slice(3), '', '[user alice]', 'secret = s', ''].join('\n'));
      const half = await run(['--check', '--config', file], dir);
      expect(half.code).toBe(1);
      expect(half.stderr).toContain(`tls_key ${join(dir, 'gone.key')} is missing but tls_cert ${pki.server.certFile} exists`);

      writeFileSync(file, ['[general]', 'listen_tls = 127.0.0.1:0', `tls_cert = ${pki.server.certFile}`, `tls_key = ${pki.server.keyFile}`, `tls_client_ca = ${pki.ca.certFile}`, '', ...base.slice(3), '', '[user alice]', 'secret = s', ''].join('\n'));
      const good = await run(['--check', '--config', file], dir);
      expect(good.code, good.stdout + good.stderr).toBe(0);
      expect(good.stderr).toBe('');
    } finally {
      pki.remove();
    }
  });

  it('reports a missing file and exits 1', async () => {
    const dir = tempDir();
    const r = await run(['--check', '--config', join(dir, 'nope.conf')], dir);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain('nope.conf');
  });
});

describe('demo mode', () => {
  it('starts without a config, prints an nc line, and a client logs in as demo/demo and gets events', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [CLI], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const ncLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no nc line within 10 s\nstdout: ${stdout}\nstderr: ${stderr}`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
        const line = stdout.split('\n').find((l) => /\bnc\s+\S+\s+\d+/.test(l));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`amiplex exited (${code}) before printing an nc line\nstdout: ${stdout}\nstderr: ${stderr}`));
      });
    });
    const m = /\bnc\s+(\S+)\s+(\d+)/.exec(ncLine)!;
    expect(m[1]).toBe('127.0.0.1');
    expect(m[2]).toBe('1234');
    // The printed line logs in as demo/demo.
    expect(ncLine).toContain('Username: demo');
    expect(ncLine).toContain('Secret: demo');

    // What the printed line sends, byte for byte: its printf run by a shell.
    const printf = /\(?(printf '[^']*')/.exec(ncLine);
    expect(printf, ncLine).not.toBeNull();
    const loginBytes = execFileSync('sh', ['-c', printf![1]!]);

    const c = await AmiTestClient.connect(Number(m[2]), m[1], { label: 'demo' });
    clients.push(c);
    expect(c.banner).toMatch(/^Asterisk Call Manager\/\d+\.\d+\.\d+$/);
    c.send(loginBytes);
    const res = await c.waitFor((msg) => header(msg, 'Response') !== undefined, 3000);
    expect(res.raw).toBe('Response: Success\r\nMessage: Authentication accepted\r\n\r\n');
    await c.waitFor(eventNamed('FullyBooted'), 3000);
    const ev = await c.waitFor((msg) => isEvent(msg) && !isEvent(msg, 'FullyBooted'), 8000);
    expect(header(ev, 'Server')).toBe('demo');

    // And the printed line itself, run as a newcomer would paste it (.ci/run installs nc).
    // Its own process group, so the pipeline (sh, cat, nc) ends as a whole.
    const shell = spawn('sh', ['-c', ncLine.trim()], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const killPipeline = () => {
      try {
        process.kill(-shell.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    onTestFinished(killPipeline);
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the printed nc line showed no events within 8 s: ${JSON.stringify(seen.slice(0, 500))}`)), 8000);
      shell.stderr!.on('data', (d: Buffer) => (seen += d.toString('latin1')));
      shell.stdout!.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
        if (/Message: Authentication accepted\r\n[\s\S]*Event: (?!FullyBooted)\w+\r\n[\s\S]*Server: demo\r\n/.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    killPipeline();

    // The printed HTTP line too: one action over HTTP, answered as a JSON array.
    const curlLine = stdout.split('\n').find((l) => /^\s*curl -u demo:demo '[^']*\/json\?Action=CoreShowChannels'\s*$/.test(l));
    expect(curlLine, stdout).toBeDefined();
    const answer = JSON.parse(execFileSync('sh', ['-c', curlLine!.trim()]).toString('utf8')) as Array<Record<string, string>>;
    expect(answer[0]).toMatchObject({ Response: 'Success', EventList: 'start' });
    expect(answer.at(-1)).toMatchObject({ Event: 'CoreShowChannelsComplete', EventList: 'Complete' });

    // The status page it prints: the demo user may open it.
    const pageUrl = /open (http:\/\/[^/\s]+\/) and log in as demo \/ demo/.exec(stdout);
    expect(pageUrl, stdout).not.toBeNull();
    const { hostname, port } = new URL(pageUrl![1]!);
    const auth = { Authorization: `Basic ${Buffer.from('demo:demo').toString('base64')}` };
    const page = await httpRequest(Number(port), hostname, '/', { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const data = await httpRequest(Number(port), hostname, '/status.json', { headers: auth });
    expect(JSON.parse(data.body)).toMatchObject({ me: { name: 'demo' }, servers: [{ name: 'demo', state: 'up' }] });
    expect(child.exitCode).toBe(null);
  });
});
