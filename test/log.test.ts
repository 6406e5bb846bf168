/**
 * Log output: JSON lines unless the destination is a terminal (then pino-pretty, one coloured
 * line per event), AMIPLEX_LOG_FORMAT forcing either, and --log-level overriding log_level —
 * checked on streams, in a real pseudo-terminal, and through the built CLI.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger, LOG_FORMAT_ENV } from '../src/log.js';

const CLI = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
const LOG_MODULE = fileURLToPath(new URL('../dist/src/log.js', import.meta.url));
const ANSI = /\u001b\[\d+m/;

/** A writable that keeps what it is given, looking like a terminal or not. */
function sink(isTTY: boolean): { stream: NodeJS.WritableStream; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8');
      cb();
    },
  });
  if (isTTY) Object.assign(stream, { isTTY: true });
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

let savedEnv: string | undefined;
beforeEach(() => {
  savedEnv = process.env[LOG_FORMAT_ENV];
  delete process.env[LOG_FORMAT_ENV];
});
afterEach(() => {
  if (savedEnv === undefined) delete process.env[LOG_FORMAT_ENV];
  else process.env[LOG_FORMAT_ENV] = savedEnv;
});

describe('chooseLogFormat', () => {
  it('is pretty on a terminal and JSON elsewhere, unless AMIPLEX_LOG_FORMAT says', () => {
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat('', true)).toBe('pretty');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
    expect(chooseLogFormat(' Pretty ', false)).toBe('pretty');
  });

  it('refuses any other value, naming the variable', () => {
    expect(() => chooseLogFormat('yaml', false)).toThrow('AMIPLEX_LOG_FORMAT must be json or pretty, not "yaml"');
  });
});

describe('createLogger', () => {
  it('writes one JSON object per line to a destination that is not a terminal', () => {
    const out = sink(false);
    const log = createLogger('info', out.stream);
    log.info({ server: 'pbx1' }, 'PBX pbx1 is up');
    log.debug('not at info');
    expect(out.lines()).toHaveLength(1);
    const rec = JSON.parse(out.lines()[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 30, name: 'amiplex', server: 'pbx1', msg: 'PBX pbx1 is up' });
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes one coloured line per event, fields included, to a terminal', () => {
    const out = sink(true);
    const log = createLogger('info', out.stream);
    log.warn({ server: 'pbx1', err: 'connection refused' }, 'PBX pbx1 is down');
    log.info('amiplex started');
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(ANSI);
    const plain = lines[0]!.replace(/\u001b\[\d+m/g, '');
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: PBX pbx1 is down \{"server":"pbx1","err":"connection refused"\}$/);
    expect(() => JSON.parse(lines[1]!)).toThrow();
  });

  it('follows AMIPLEX_LOG_FORMAT: JSON to a terminal, or pretty (without colours) to a pipe', () => {
    process.env[LOG_FORMAT_ENV] = 'json';
    const tty = sink(true);
    createLogger('info', tty.stream).info('hello');
    expect(JSON.parse(tty.lines()[0]!)).toMatchObject({ msg: 'hello' });

    process.env[LOG_FORMAT_ENV] = 'pretty';
    const pipe = sink(false);
    createLogger('info', pipe.stream).info('hello');
    expect(pipe.lines()[0]).toMatch(/^\[[\d:.]+\] INFO: hello$/);
  });
});

let hasScript = true;
try {
  execFileSync('script', ['--version'], { stdio: 'ignore' });
} catch {
  hasScript = false;
}

describe('in a real terminal', () => {
  it.skipIf(!hasScript)('logs pretty when standard error is a terminal (util-linux script gives it one)', () => {
    const program = `import(${JSON.stringify(LOG_MODULE)}).then((m) => m.createLogger('info', process.stderr).info({ server: 'pbx1' }, 'on a terminal'))`;
    const command = `${JSON.stringify(process.execPath)} --input-type=module -e ${shellQuote(program)}`;
    const env = { ...process.env };
    delete env[LOG_FORMAT_ENV];
    const out = execFileSync('script', ['-qec', command, '/dev/null'], { env, encoding: 'utf8', timeout: 10_000 });
    expect(out).toMatch(ANSI);
    expect(out.replace(/\u001b\[\d+m/g, '')).toMatch(/INFO: on a terminal \{"server":"pbx1"\}/);
  });
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---- the CLI, as a real process -----------------------------------------------------------

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A proxy.conf whose PBX refuses connections, so amiplex logs a warning at once. */
async function configWithDeadPbx(logLevel: string): Promise<string> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'amiplex-log-'));
  dirs.push(dir);
  const file = join(dir, 'proxy.conf');
  writeFileSync(
    file,
    ['[general]', 'listen = 127.0.0.1:0', `log_level = ${logLevel}`,
      '[server pbx1]', 'host = 127.0.0.1', `port = ${port}`, 'username = admin', 'secret = admin', 'reconnect_min = 5', 'reconnect_max = 5',
      '[user alice]', 'secret = alice-secret', ''].join('\n'),
  );
  return file;
}

/** Runs the CLI until its standard error matches `until` (then stops it), or until it exits. */
function runCli(args: string[], env: Record<string, string | undefined>, until: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    delete childEnv[LOG_FORMAT_ENV];
    for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`amiplex ${args.join(' ')}: no ${until} within 10 s; stderr:\n${stderr}`));
    }, 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (until.test(stderr)) child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('the CLI', () => {
  it('logs JSON lines to a pipe, at the config log_level', async () => {
    const file = await configWithDeadPbx('warn');
    const { stderr } = await runCli(['--config', file], {}, /is down/);
    const records = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.some((r) => r.level === 40 && r.msg === 'PBX pbx1 is down')).toBe(true);
    expect(records.some((r) => r.msg === 'amiplex started')).toBe(false);
  });

  it('--log-level overrides log_level', async () => {
    const file = await configWithDeadPbx('warn');
    const { stderr } = await runCli(['--config', file, '--log-level', 'info'], {}, /is down/);
    expect(stderr).toContain('"msg":"amiplex started"');
  });

  it('logs pretty lines when AMIPLEX_LOG_FORMAT=pretty, without colours on a pipe', async () => {
    const file = await configWithDeadPbx('warn');
    const { stderr } = await runCli(['--config', file], { [LOG_FORMAT_ENV]: 'pretty' }, /is down/);
    const line = stderr.split('\n').find((l) => l.includes('is down'))!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: PBX pbx1 is down \{/);
    expect(stderr).not.toMatch(ANSI);
  });

  it('refuses a bad AMIPLEX_LOG_FORMAT with a clear message and exit code 1', async () => {
    const file = await configWithDeadPbx('warn');
    const { code, stderr } = await runCli(['--config', file], { [LOG_FORMAT_ENV]: 'xml' }, /$^/);
    expect(code).toBe(1);
    expect(stderr).toBe('amiplex: AMIPLEX_LOG_FORMAT must be json or pretty, not "xml"\n');
  });
});
