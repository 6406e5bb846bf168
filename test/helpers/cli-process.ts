/**
 * amiplex as a real process (`node dist/src/cli.js --config FILE`), for tests of what only a
 * process has: signals, exit codes, standard error. The config lives in a temp folder the test
 * can rewrite (then SIGHUP); the raw AMI address comes from the "amiplex started" log line,
 * so the config can say `listen = 127.0.0.1:0`.
 *
 *   afterEach(stopAllCliProcesses);
 *   const p = await startCli(configText);
 *   const c = await AmiTestClient.connect(p.port);
 *
 * Every process started is killed (SIGKILL) and its folder removed by stopAllCliProcesses().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostPort } from '../../src/config/index.js';
import { waitUntil } from './proxy-fixture.js';

export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

/** One JSON log line of amiplex (pino), with its message in `msg`. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** When it exited (ms since the epoch). */
  readonly at: number;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** The config file amiplex was started with (rewrite it with writeConfig, then SIGHUP). */
  readonly file: string;
  readonly dir: string;
  /** The first raw AMI listener's bound address. */
  readonly host: string;
  readonly port: number;
  readonly listeners: readonly HostPort[];
  /** The [general] HTTP listeners' bound addresses. */
  readonly http: readonly HostPort[];
  /** Everything written to standard error so far. */
  stderr(): string;
  /** The JSON log lines so far, in order (other lines of standard error are skipped). */
  logs(): LogLine[];
  /** Waits for a log line (counted from `from`, an index into logs()) that matches. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number, from?: number, what?: string): Promise<LogLine>;
  /** Waits until standard error contains `text`. */
  waitForStderr(text: string, timeoutMs?: number): Promise<void>;
  writeConfig(text: string): void;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
}

const running = new Set<{ child: ChildProcess; dir: string }>();

/** Ends a child process as Ctrl-C would (SIGTERM), SIGKILL after 3 s; resolves once it has exited. */
export function endChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Kills every process started by this test file and removes their folders (use in afterEach). */
export async function stopAllCliProcesses(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(
    all.map(async ({ child, dir }) => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    }),
  );
}

/** Starts amiplex with this proxy.conf text and waits until it logs "amiplex started". */
export async function startCli(configText: string, timeoutMs = 10_000): Promise<CliProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'amiplex-proc-'));
  const file = join(dir, 'proxy.conf');
  writeFileSync(file, configText);
  const child = spawn(process.execPath, [CLI, '--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add({ child, dir });
  let stderr = '';
  let partial = '';
  const logs: LogLine[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  child.stdout!.resume();
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  let exit: Exit | undefined;
  void exited.then((e) => (exit = e));

  const waitForLog = async (predicate: (line: LogLine) => boolean, ms = 5000, from = 0, what = 'a matching log line'): Promise<LogLine> => {
    let found: LogLine | undefined;
    await waitUntil(
      () => {
        if (exit) throw new Error(`amiplex exited (${exit.code ?? exit.signal}) while waiting for ${what}\n${stderr}`);
        found = logs.slice(from).find(predicate);
        return found !== undefined;
      },
      ms,
      `${what}; amiplex's standard error:\n${stderr}`,
    );
    return found!;
  };

  const started = await waitForLog((l) => l.msg === 'amiplex started', timeoutMs, 0, '"amiplex started"');
  const listeners = started.listen as HostPort[];
  return {
    child,
    file,
    dir,
    host: listeners[0]!.host,
    port: listeners[0]!.port,
    listeners,
    http: (started.http as HostPort[] | undefined) ?? [],
    stderr: () => stderr,
    logs: () => logs,
    waitForLog,
    async waitForStderr(text, ms = 5000) {
      await waitUntil(() => stderr.includes(text), ms, `${JSON.stringify(text)} on standard error:\n${stderr}`);
    },
    writeConfig: (text) => writeFileSync(file, text),
    kill: (signal) => child.kill(signal),
    exited,
  };
}
