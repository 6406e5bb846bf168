/**
 * The load of the HTTP actions run: `concurrency` keep-alive connections, each sending the same
 * GET and the next one when the answer is in, for a while. Two clients:
 *
 * - wrk (`-t2 -cN --latency`), when it is installed: a C client, so that the two cores go to
 *   the servers measured and not to the measuring side; it reports requests, latency
 *   percentiles and non-2xx answers (it does not read bodies: each target's answer is checked
 *   once before and once after the load);
 * - node:http requests in this process (one keep-alive Agent), checking every answer.
 *
 * Both measure a target the same way, so figures of one run compare: amiplex, the bare
 * node:http reference and Asterisk's AJAM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { cpuMs } from './ipc.js';
import { percentile, sleep } from './numbers.js';

const REQUEST_TIMEOUT_MS = 10_000;

export interface HttpTarget {
  readonly host: string;
  readonly port: number;
  /** Path and query. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** What is wrong with an answer, or undefined when it is right. */
  check(status: number, body: string): string | undefined;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Wrong answers and failed requests. */
  readonly errors: number;
  /** A few of the distinct errors, for the notes. */
  readonly errorKinds: string[];
}

/** A load being sent: its result when it ends, and the client's CPU time so far (ms) while it runs. */
export interface RunningLoad {
  readonly done: Promise<LoadResult>;
  clientCpuMs(): number | undefined;
}

export interface LoadClient {
  /** How the report names it, e.g. `wrk 4.1.0 (-t2 -c50)`. */
  readonly name: string;
  start(target: HttpTarget, concurrency: number, durationMs: number): RunningLoad;
}

/** One request, its answer checked. */
export function request(target: HttpTarget, agent: http.Agent | false = false): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request({ host: target.host, port: target.port, path: target.path, agent, headers: target.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(target.check(res.statusCode ?? 0, Buffer.concat(chunks).toString('latin1'))));
      res.on('error', (err) => resolve(`response: ${err.message}`));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve(`request: ${err.message}`));
    req.end();
  });
}

// ---- node:http -------------------------------------------------------------------------------

export function nodeClient(): LoadClient {
  return {
    name: 'node:http requests in the measuring process (one keep-alive Agent)',
    start(target, concurrency, durationMs) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      const cpu0 = cpuMs();
      const samples: number[] = [];
      const errorKinds = new Map<string, number>();
      let errors = 0;
      const t0 = performance.now();
      const end = t0 + durationMs;
      const loop = async (): Promise<void> => {
        while (performance.now() < end) {
          const t = performance.now();
          const wrong = await request(target, agent);
          // Only requests both sent and answered inside the duration count.
          if (performance.now() > end) break;
          samples.push(performance.now() - t);
          if (wrong !== undefined) {
            errors++;
            errorKinds.set(wrong, (errorKinds.get(wrong) ?? 0) + 1);
            // A refused connection fails at once: do not spin.
            if (wrong.startsWith('request:')) await sleep(10);
          }
        }
      };
      const done = Promise.all(Array.from({ length: concurrency }, () => loop())).then((): LoadResult => {
        agent.destroy();
        const seconds = durationMs / 1000;
        samples.sort((a, b) => a - b);
        return {
          requests: samples.length,
          seconds,
          perSecond: samples.length / seconds,
          p50Ms: percentile(samples, 50),
          p99Ms: percentile(samples, 99),
          errors,
          errorKinds: [...errorKinds].slice(0, 5).map(([what, n]) => `${n} × ${what}`),
        };
      });
      return { done, clientCpuMs: () => cpuMs() - cpu0 };
    },
  };
}

// ---- wrk -------------------------------------------------------------------------------------

/** wrk's version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error) return undefined;
  const m = /wrk\s+(\S+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1]!.replace(/^debian\//, '') : 'unknown version';
}

const CLOCK_TICK_MS = 10; // Linux's USER_HZ is 100 on every architecture node runs on

/** CPU time of a process (user + system) from /proc, in ms; undefined where there is none. */
function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces, in parentheses): utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
  } catch {
    return undefined;
  }
}

/** A wrk duration or latency as ms. */
function wrkMs(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 'ms' ? v : unit === 's' ? v * 1000 : unit === 'm' ? v * 60_000 : NaN;
}

/** wrk's report (with --latency) as a result. */
export function parseWrk(out: string): LoadResult {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(out);
  const latency = (p: number) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? wrkMs(m[1]!, m[2]!) : NaN;
  };
  if (!total) throw new Error(`wrk printed no result:\n${out.slice(0, 1000)}`);
  const requests = Number(total[1]);
  const seconds = wrkMs(total[2]!, total[3]!) / 1000;
  const errorKinds: string[] = [];
  let errors = 0;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) {
    errors += Number(non2xx[1]);
    errorKinds.push(`${non2xx[1]} × answers other than 2xx or 3xx`);
  }
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (socket) {
    const n = socket.slice(1).reduce((a, b) => a + Number(b), 0);
    errors += n;
    if (n > 0) errorKinds.push(`socket errors: connect ${socket[1]}, read ${socket[2]}, write ${socket[3]}, timeout ${socket[4]}`);
  }
  return { requests, seconds, perSecond: requests / seconds, p50Ms: latency(50), p99Ms: latency(99), errors, errorKinds };
}

export function wrkClient(version: string, threads: number): LoadClient {
  return {
    name: `wrk ${version} (-t${threads}, keep-alive)`,
    start(target, concurrency, durationMs) {
      const args = [`-t${Math.min(threads, concurrency)}`, `-c${concurrency}`, `-d${Math.max(1, Math.round(durationMs / 1000))}s`, '--latency', `--timeout`, `${REQUEST_TIMEOUT_MS / 1000}s`];
      for (const [name, value] of Object.entries(target.headers)) args.push('-H', `${name}: ${value}`);
      args.push(`http://${target.host}:${target.port}${target.path}`);
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      const done = new Promise<LoadResult>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => {
          if (code !== 0) reject(new Error(`wrk exited with ${code}:\n${out.slice(0, 1000)}`));
          else {
            try {
              resolve(parseWrk(out));
            } catch (err) {
              reject(err as Error);
            }
          }
        });
      });
      return { done, clientCpuMs: () => (child.pid === undefined ? undefined : procCpuMs(child.pid)) };
    },
  };
}

/** wrk when installed (unless told otherwise), else node:http. */
export function chooseClient(wanted: 'auto' | 'wrk' | 'node', threads = 2): LoadClient {
  if (wanted === 'node') return nodeClient();
  const version = wrkVersion();
  if (version !== undefined) return wrkClient(version, threads);
  if (wanted === 'wrk') throw new Error('--http-client wrk: wrk is not installed (apt-get install wrk)');
  return nodeClient();
}
