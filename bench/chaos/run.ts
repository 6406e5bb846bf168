/**
 * `npm run chaos`: amiplex attacked and broken on purpose, as a hostile user and a broken PBX
 * would, with the figures printed.
 *
 *   node dist/bench/chaos/run.js [--short] [--only restart,burst,memory,hostile,http,herd] [--json]
 *
 * --short: the version `npm test` runs (smaller numbers, the same checks, about half a minute);
 * --json: the results as JSON on stdout instead of the Markdown report.
 *
 * amiplex and the simulated PBX run in child processes (bench/ipc.ts); the attackers, the
 * probes and the hostile PBX run here. Progress goes to stderr. Exit code 0 when every check
 * held (every action answered exactly once, none misrouted, memory bounded, …), 1 otherwise;
 * a missed timing target is reported, not an error: this machine's timings are indicative.
 */
import os from 'node:os';
import { burstScenario } from './burst.js';
import type { ScenarioResult } from './common.js';
import { herdScenario } from './herd.js';
import { hostileScenario } from './hostile.js';
import { httpScenario } from './http-abuse.js';
import { memoryScenario } from './memory.js';
import { restartScenario } from './restart.js';
import { renderChaosReport } from './report.js';
import { Scope } from '../setup.js';

const SCENARIOS = {
  restart: restartScenario,
  burst: burstScenario,
  memory: memoryScenario,
  hostile: hostileScenario,
  http: httpScenario,
  herd: herdScenario,
} as const;

type Name = keyof typeof SCENARIOS;

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): { short: boolean; json: boolean; only: Name[] } {
  const args = { short: false, json: false, only: Object.keys(SCENARIOS) as Name[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--short') args.short = true;
    else if (a === '--json') args.json = true;
    else if (a === '--only') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError('--only needs a value');
      const names = v.split(',');
      for (const n of names) if (!(n in SCENARIOS)) throw new UsageError(`--only: unknown scenario ${n} (${Object.keys(SCENARIOS).join(', ')})`);
      args.only = names as Name[];
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: node dist/bench/chaos/run.js [--short] [--only ${Object.keys(SCENARIOS).join(',')}] [--json]\n`);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${a} (see --help)`);
  }
  return args;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const command = ['npm run chaos', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const started = Date.now();
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  const watchdogMs = (args.short ? 3 : 15) * 60_000;
  let scope = new Scope();
  const watchdog = setTimeout(() => {
    log(`chaos: still running after ${watchdogMs / 60_000} min: giving up`);
    scope.killNow();
    process.exit(1);
  }, watchdogMs);
  process.once('exit', () => scope.killNow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      scope.killNow();
      process.exit(130);
    });
  }
  for (const name of args.only) {
    log(`chaos: ${name}`);
    try {
      const r = await SCENARIOS[name](scope, { short: args.short }, log);
      results.push(r);
      for (const c of r.checks) if (!c.ok) failures.push(`${name}: ${c.what}: ${c.detail}`);
      for (const c of r.checks) log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: ${c.detail}`);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      log(`  FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      // Every scenario starts from fresh processes.
      await scope.release();
      scope = new Scope();
    }
  }
  clearTimeout(watchdog);
  const elapsedS = (Date.now() - started) / 1000;
  const machine = `Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the end`;
  if (args.json) process.stdout.write(`${JSON.stringify({ command, machine, elapsedS, results, failures }, null, 2)}\n`);
  else process.stdout.write(renderChaosReport({ command, machine, elapsedS, results, failures }));
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`chaos: ${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
