/**
 * The command line, run as a real process from `dist/` (`npm test` builds first):
 * `--check` reports every config error with FILE:LINE and exits 1 (0 for a good config).
 * Demo mode (no config anywhere) is in demo.test.ts.
 */
import { makeTestPki } from './helpers/test-certs.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { endChild } from './helpers/cli-process.js';

const CLI = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));

const children = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(async () => {
  const ending = [...children];
  children.clear();
  await Promise.all(ending.map(endChild));
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
