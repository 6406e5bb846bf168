/**
 * Demo mode, as `npm start` runs it (a real process from `dist/`, no config anywhere): it
 * starts the simulator and amiplex, and every line it prints for a newcomer works when pasted
 * into a shell — the nc line logs in as demo/demo and shows events, the curl lines answer an
 * action and stream events, the status page URL opens for demo. Its default ports (1234 for
 * raw AMI, 8088 for HTTP) may be taken, 8088 by Asterisk itself on any machine that runs it:
 * then it picks free ones and prints those. No test here depends on a port being free.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { CLI, endChild } from './helpers/cli-process.js';
import { AmiTestClient, eventNamed, header, isEvent } from './helpers/ami-test-client.js';
import { httpRequest } from './helpers/http-fixture.js';
import { TAIL_LINES_PER_SECOND } from '../src/demo.js';

const children = new Set<ChildProcess>();
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  const ending = [...children];
  children.clear();
  await Promise.all(ending.map(endChild));
});

/** Starts `amiplex` with no config in an empty folder and returns once it printed its status page line. */
async function startDemoProcess(args: readonly string[] = []): Promise<{ child: ChildProcess; stdout: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'amiplex-demo-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no status page line within 10 s\nstdout: ${stdout}\nstderr: ${stderr}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      if (/open http:\S+ and log in/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`amiplex exited (${code}) before printing its lines\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  return { child, stdout: () => stdout };
}

/** Runs a printed shell line in its own process group until `done` matches what it wrote, then ends the whole pipeline. */
async function runUntil(line: string, done: RegExp, what: string): Promise<string> {
  const shell = spawn('sh', ['-c', line.trim()], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const kill = () => {
    try {
      process.kill(-shell.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  onTestFinished(kill);
  let seen = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} within 8 s: ${JSON.stringify(seen.slice(0, 500))}`)), 8000);
      const onData = (d: Buffer) => {
        seen += d.toString('latin1');
        if (done.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      };
      shell.stdout!.on('data', onData);
      shell.stderr!.on('data', (d: Buffer) => (seen += d.toString('latin1')));
    });
  } finally {
    kill();
  }
  return seen;
}

/** Every line the demo printed for a newcomer, run as printed; returns the ports they name. */
async function checkPrintedLines(stdout: string): Promise<{ ami: number; http: number }> {
  const lines = stdout.split('\n');
  // The nc line: raw AMI, logging in as demo/demo.
  const ncLine = lines.find((l) => /\bnc\s+\S+\s+\d+\s*$/.test(l));
  expect(ncLine, stdout).toBeDefined();
  const m = /\bnc\s+(\S+)\s+(\d+)/.exec(ncLine!)!;
  expect(m[1]).toBe('127.0.0.1');
  expect(ncLine).toContain('Username: demo');
  expect(ncLine).toContain('Secret: demo');

  // What the printed line sends, byte for byte: its printf run by a shell.
  const printf = /\(?(printf '[^']*')/.exec(ncLine!);
  expect(printf, ncLine).not.toBeNull();
  const loginBytes = execFileSync('sh', ['-c', printf![1]!]);
  const c = await AmiTestClient.connect(Number(m[2]), m[1], { label: 'demo' });
  cleanups.push(() => c.close());
  expect(c.banner).toMatch(/^Asterisk Call Manager\/\d+\.\d+\.\d+$/);
  c.send(loginBytes);
  const res = await c.waitFor((msg) => header(msg, 'Response') !== undefined, 3000);
  expect(res.raw).toBe('Response: Success\r\nMessage: Authentication accepted\r\n\r\n');
  await c.waitFor(eventNamed('FullyBooted'), 3000);
  const ev = await c.waitFor((msg) => isEvent(msg) && !isEvent(msg, 'FullyBooted'), 8000);
  expect(header(ev, 'Server')).toBe('demo');

  // And the nc line itself, pasted into a shell (npm test installs nc).
  await runUntil(ncLine!, /Message: Authentication accepted\r\n[\s\S]*Event: (?!FullyBooted)\w+\r\n[\s\S]*Server: demo\r\n/, 'the printed nc line showed no events');

  // The curl lines: one action answered as a JSON array, and the live event stream.
  const curlLine = lines.find((l) => /^\s*curl -u demo:demo '[^']*\/json\?Action=CoreShowChannels'\s*$/.test(l));
  expect(curlLine, stdout).toBeDefined();
  const answer = JSON.parse(execFileSync('sh', ['-c', curlLine!.trim()], { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8')) as Array<Record<string, string>>;
  expect(answer[0]).toMatchObject({ Response: 'Success', EventList: 'start' });
  expect(answer.at(-1)).toMatchObject({ Event: 'CoreShowChannelsComplete', EventList: 'Complete' });
  const eventsLine = lines.find((l) => /^\s*curl -N -u demo:demo '[^']*\/events'\s*$/.test(l));
  expect(eventsLine, stdout).toBeDefined();
  await runUntil(eventsLine!, /\ndata: .*"Server":"demo"/, 'the printed curl -N line streamed no event');
  const httpPort = Number(new URL(/'([^']*)'/.exec(curlLine!)![1]!).port);
  expect(Number(new URL(/'([^']*)'/.exec(eventsLine!)![1]!).port)).toBe(httpPort);

  // The status page it prints: the demo user may open it.
  const pageUrl = /open (http:\/\/[^/\s]+\/) and log in as demo \/ demo/.exec(stdout);
  expect(pageUrl, stdout).not.toBeNull();
  const { hostname, port } = new URL(pageUrl![1]!);
  expect(Number(port)).toBe(httpPort);
  const auth = { Authorization: `Basic ${Buffer.from('demo:demo').toString('base64')}` };
  const page = await httpRequest(Number(port), hostname, '/', { headers: auth });
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
  const data = await httpRequest(Number(port), hostname, '/status.json', { headers: auth });
  expect(JSON.parse(data.body)).toMatchObject({ me: { name: 'demo' }, servers: [{ name: 'demo', state: 'up' }] });

  // The metrics line: how late the event loop runs, from /metrics on the same port.
  const metricsLine = lines.find((l) => /^\s*curl -s '?http:\/\/[^/\s]+\/metrics'? \| grep eventloop_lag_p99\s*$/.test(l));
  expect(metricsLine, stdout).toBeDefined();
  expect(Number(/:(\d+)\/metrics/.exec(metricsLine!)![1])).toBe(httpPort);
  const lag = execFileSync('sh', ['-c', metricsLine!.trim()], { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
  const p99 = /^amiplex_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(lag);
  expect(p99, lag).not.toBeNull();
  // Sampled since amiplex started (each sample includes the 10 ms interval), even at this first look.
  expect(Number(p99![1])).toBeGreaterThan(0.005);
  return { ami: Number(m[2]), http: httpPort };
}

/** Holds `port` on `host` for this test, unless something else already does: either way it is taken. */
async function occupy(host: string, port: number): Promise<void> {
  const server: Server = createServer((s) => s.destroy());
  const held = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => resolve(true));
  });
  if (held) cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // Whoever holds it, nothing more may listen there.
  const probe = createServer();
  const free = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
  expect(free, `port ${port} should be taken now`).toBe(false);
}

describe('demo mode', () => {
  it('starts without a config, and every line it prints works as printed', async () => {
    const { child, stdout } = await startDemoProcess();
    await checkPrintedLines(stdout());
    expect(child.exitCode).toBe(null);
  });

  it('floods with --demo-rate: the tail shows the first events of each second and counts the rest', async () => {
    const { child, stdout } = await startDemoProcess(['--demo-rate', '5000']);
    const started = stdout().length;
    const counts = await new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no count line within 5 s:\n${stdout().slice(started)}`)), 5000);
      child.stdout!.on('data', () => {
        const found = [...stdout().slice(started).matchAll(/^ {2}… and ([\d,]+) more events in the last second$/gm)].map((x) => Number(x[1]!.replace(/,/g, '')));
        if (found.length < 2) return;
        clearTimeout(timer);
        resolve(found);
      });
    });
    // Two full seconds at 5,000 events/s less the 20 shown: thousands each (the first may be partial).
    expect(counts[1]).toBeGreaterThan(1000);
    // Between two count lines, at most TAIL_LINES_PER_SECOND events.
    const between = /more events in the last second\n([\s\S]*?)\n {2}… and/.exec(stdout().slice(started))![1]!.split('\n');
    expect(between.length).toBeLessThanOrEqual(TAIL_LINES_PER_SECOND);
    expect(between.every((l) => /^ {2}\d\d:\d\d:\d\d {2}demo /.test(l)), between.join('\n')).toBe(true);
    expect(child.exitCode).toBe(null);
  });

  it('refuses --demo-rate with a config: demo mode runs only without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amiplex-demo-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'proxy.conf'), '[general]\n');
    let failed: { status: number | null; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [CLI, '--demo-rate', '100'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { status: number | null; stderr: Buffer };
      failed = { status: e.status, stderr: e.stderr.toString('utf8') };
    }
    expect(failed?.status).toBe(1);
    expect(failed?.stderr).toContain('--demo-rate is for demo mode, which runs only without a config');
  });

  it("starts where 1234, 5038 and 8088 are taken (8088 as Asterisk's HTTP server holds it, on every address), and prints the free ports it picked", async () => {
    await occupy('127.0.0.1', 1234);
    await occupy('127.0.0.1', 5038);
    await occupy('0.0.0.0', 8088);
    const { child, stdout } = await startDemoProcess();
    const ports = await checkPrintedLines(stdout());
    expect(ports.ami).not.toBe(1234);
    expect([5038, 8088]).not.toContain(ports.ami);
    expect([1234, 5038, 8088]).not.toContain(ports.http);
    expect(stdout()).toContain(`(127.0.0.1:1234 is taken, so raw AMI is on port ${ports.ami})`);
    expect(stdout()).toContain(`(127.0.0.1:8088 is taken, likely by Asterisk's own HTTP server, so HTTP is on port ${ports.http})`);
    expect(child.exitCode).toBe(null);
  });
});
