/**
 * The first step of `npm test` (test/setup/prerequisites.mjs): what the tests need from the
 * system is installed with apt-get when it can be (root, apt-get on PATH), otherwise the run
 * stops before anything else with the exact command to run. The real script is run with a
 * PATH that holds nothing but node and ldd.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS, missingLibraries, onPath, plan } from './setup/prerequisites.mjs';

const SCRIPT = fileURLToPath(new URL('./setup/prerequisites.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const nc = COMMANDS.find((c) => c.command === 'nc')!;
const nats = COMMANDS.find((c) => c.command === 'nats-server')!;

describe('what npm test does about missing system packages', () => {
  it('nothing when nothing is missing', () => {
    expect(plan({ commands: [], libraries: [], root: false, aptGet: false })).toEqual({ action: 'none' });
  });

  it('installs them as root with apt-get, commands and libraries alike, each package once', () => {
    const p = plan({ commands: [nc, nats], libraries: ['libnss3.so', 'libnssutil3.so', 'libexpat.so.1'], root: true, aptGet: true });
    expect(p.action).toBe('install');
    if (p.action !== 'install') return;
    expect(p.packages).toEqual(['netcat-openbsd', 'nats-server', 'libnss3', 'libexpat1']);
    expect(p.reasons.join('\n')).toContain('nats-server (Debian package nats-server)');
  });

  it('stops with the exact command when it may not install: sudo when not root, none when root without apt-get', () => {
    const user = plan({ commands: [nc, nats], libraries: ['libnspr4.so'], root: false, aptGet: true });
    expect(user).toMatchObject({ action: 'stop' });
    if (user.action !== 'stop') return;
    expect(user.message).toContain('  sudo apt-get update && sudo apt-get install -y netcat-openbsd nats-server libnspr4\n');
    const rootNoApt = plan({ commands: [nc], libraries: [], root: true, aptGet: false });
    if (rootNoApt.action !== 'stop') throw new Error('expected stop');
    expect(rootNoApt.message).toContain('  apt-get update && apt-get install -y netcat-openbsd\n');
  });

  it('stops on a library no package is known for, even as root', () => {
    const p = plan({ commands: [], libraries: ['libweird.so.9'], root: true, aptGet: true });
    if (p.action !== 'stop') throw new Error('expected stop');
    expect(p.message).toContain('libweird.so.9');
  });

  it("reads ldd's missing libraries", () => {
    const out = '\tlinux-vdso.so.1 (0x00007ff)\n\tlibnss3.so => not found\n\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x1)\n\tlibexpat.so.1 => not found\n';
    expect(missingLibraries(out)).toEqual(['libnss3.so', 'libexpat.so.1']);
  });

  it('finds commands on PATH only when executable', () => {
    expect(onPath('node', path.dirname(process.execPath))).toBe(true);
    expect(onPath('no-such-command-here', path.dirname(process.execPath))).toBe(false);
  });

  it('the script stops with exit 1 and the install command when nc, curl and nats-server are not on PATH', { timeout: 60_000 }, () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'amiplex-path-'));
    dirs.push(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    // No apt-get on this PATH: it may not install, whoever runs it.
    const r = spawnSync(process.execPath, [SCRIPT], { env: { PATH: bin }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('apt-get install -y netcat-openbsd curl nats-server');
    expect(r.stderr).toContain("nc (Debian package netcat-openbsd): the demo test runs the demo's printed nc line");
  });
});
