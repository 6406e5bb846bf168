/**
 * contrib/amiplex.service, the systemd unit, checked against the project: its ExecStart runs
 * the built CLI of this repository laid out as /opt/amiplex (and that command line is accepted),
 * its signals are the ones amiplex handles, its stop timeout covers shutdown_timeout, and the
 * sandbox leaves writable the folder where amiplex may generate its certificate.
 * `systemd-analyze verify` runs too where it is installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GENERAL_SCHEMA, resolveConfigPath } from '../src/config/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const UNIT = path.join(ROOT, 'contrib/amiplex.service');
const INSTALL_DIR = '/opt/amiplex';
const CONFIG = '/etc/amiplex/proxy.conf';

/** A unit file as sections of [key, value] lines in order (keys repeat: ExecReload). */
function parseUnit(text: string): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = [];
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq <= 0) throw new Error(`not a unit file line: ${line}`);
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

const unitText = readFileSync(UNIT, 'utf8');
const unit = parseUnit(unitText);
const service = unit.get('Service') ?? [];
const all = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v);
const one = (key: string) => {
  const values = all(key);
  expect(values, `${key}= in [Service]`).toHaveLength(1);
  return values[0]!;
};

/** A command of the unit, run from this repository instead of /opt/amiplex (node: this one). */
function localCommand(line: string, config: string): { file: string; args: string[] } {
  const words = line.split(/\s+/);
  expect(words.slice(0, 2)).toEqual(['/usr/bin/env', 'node']);
  const args = words.slice(2).map((w) => (w.startsWith(`${INSTALL_DIR}/`) ? path.join(ROOT, w.slice(INSTALL_DIR.length + 1)) : w === CONFIG ? config : w));
  return { file: process.execPath, args };
}

describe('contrib/amiplex.service', () => {
  it('runs the built CLI of the install folder with --config /etc/amiplex/proxy.conf, as a plain process', () => {
    expect(one('Type')).toBe('simple');
    const words = one('ExecStart').split(/\s+/);
    expect(words).toEqual(['/usr/bin/env', 'node', `${INSTALL_DIR}/dist/src/cli.js`, '--config', CONFIG]);
    // The script is where the build puts it, and is the package's bin.
    const relative = words[2]!.slice(INSTALL_DIR.length + 1);
    expect(existsSync(path.join(ROOT, relative)), `${relative} is missing: npm run build`).toBe(true);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.amiplex).toBe(relative);
    expect(one('User')).toBe('amiplex');
    expect(one('Restart')).toBe('on-failure');
    expect(unit.get('Install')).toEqual([['WantedBy', 'multi-user.target']]);
  });

  it('its command lines are accepted by the CLI: the reload check passes on a good file and fails on a broken one', () => {
    const [check, hup] = all('ExecReload');
    expect(hup).toBe('/bin/kill -HUP $MAINPID');
    expect(check).toBe(`/usr/bin/env node ${INSTALL_DIR}/dist/src/cli.js --check --config ${CONFIG}`);
    const good = localCommand(check!, path.join(ROOT, 'proxy.conf.example'));
    expect(execFileSync(good.file, good.args, { encoding: 'utf8' })).toMatch(/: OK \(/);
    const broken = localCommand(check!, path.join(ROOT, 'package.json'));
    const r = spawnSync(broken.file, broken.args, { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('package.json:1:');
  });

  it('stops with SIGTERM and reloads with SIGHUP, the signals amiplex handles', () => {
    expect(one('KillSignal')).toBe('SIGTERM');
    const cli = readFileSync(path.join(ROOT, 'src/cli.ts'), 'utf8');
    for (const signal of ['SIGTERM', 'SIGHUP']) expect(cli).toContain(`process.on('${signal}'`);
    expect(all('ExecReload').at(-1)).toMatch(/^\/bin\/kill -HUP \$MAINPID$/);
  });

  it('gives the stop a little more than the default shutdown_timeout', () => {
    const shutdown = Number(GENERAL_SCHEMA.shutdownTimeout.default);
    const stop = Number(one('TimeoutStopSec'));
    expect(stop).toBeGreaterThan(shutdown);
    expect(stop).toBeLessThanOrEqual(shutdown + 10);
    expect(unitText).toMatch(/shutdown_timeout \(proxy\.conf, default 10 s\)/);
  });

  it('is sandboxed, with the certificate folder of proxy.conf writable and the low-port capability optional', () => {
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes']]) {
      expect(one(key!), key).toBe(value);
    }
    const writable = one('ReadWritePaths').split(/\s+/).map((p) => p.replace(/^-/, ''));
    for (const spec of [GENERAL_SCHEMA.tlsCert, GENERAL_SCHEMA.tlsKey]) {
      const where = path.dirname(resolveConfigPath({ file: CONFIG }, spec.default!));
      expect(writable, `${spec.key} (${where}) must be writable: amiplex may generate it`).toContain(where);
    }
    // Commented out, and allowed by the bounding set once it is not.
    expect(all('AmbientCapabilities')).toEqual([]);
    expect(unitText).toMatch(/^#AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.skipIf(!analyze)('passes systemd-analyze verify without a warning (where systemd is installed)', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe('');
  });
});
