/**
 * The benchmark's control channel: the PBX and amiplex each run in a child process (so the
 * three parties of a measurement do not share an event loop) and are driven over Node's IPC
 * channel with request/reply messages.
 *
 * Child side: `serve({ cmd: handler })` answers `{ id, cmd, arg }` with `{ id, ok, result }`
 * or `{ id, ok: false, error }`, and exits when the parent goes away.
 * Parent side: `BenchChild.fork()` starts a child, `request()` sends a command with a timeout,
 * `kill()` ends it (SIGKILL when it does not leave on its own); every pending request fails
 * the moment the child dies, so nothing waits forever.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly arg?: unknown;
}

type Reply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

type ReadyMessage = { readonly ready: true };

export type Handlers = Record<string, (arg: never) => unknown>;

/** Built-in command of every child: answer, then exit normally. */
const EXIT = 'exit';

// ---- child side ------------------------------------------------------------------------------

/** Runs in a child: answers the parent's requests with `handlers`; exits when the parent leaves. */
export function serve(handlers: Handlers): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this script is a benchmark child: run it through bench/run.js');
  process.on('disconnect', () => process.exit(0));
  process.on('message', (raw: unknown) => {
    const req = raw as Request;
    if (req.cmd === EXIT) {
      // Leave through process.exit so that --cpu-prof writes its profile.
      send({ id: req.id, ok: true, result: null } satisfies Reply, () => process.exit(0));
      return;
    }
    const handler = handlers[req.cmd];
    void (async () => {
      let reply: Reply;
      try {
        if (!handler) throw new Error(`unknown command ${req.cmd}`);
        const result = await handler(req.arg as never);
        reply = { id: req.id, ok: true, result: result ?? null };
      } catch (err) {
        reply = { id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      if (process.connected) send(reply);
    })();
  });
  send({ ready: true } satisfies ReadyMessage);
}

/** CPU time used by this process so far, in ms (user + system). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A reading of this process's CPU time and of the wall clock at the same moment. */
export interface CpuReading {
  readonly cpuMs: number;
  /** Wall clock, ms since the epoch, sub-millisecond. */
  readonly at: number;
}

export function cpuReading(): CpuReading {
  return { cpuMs: cpuMs(), at: performance.timeOrigin + performance.now() };
}

/** CPU used between two readings, in % of one core. */
export function cpuPercent(a: CpuReading, b: CpuReading): number {
  return b.at > a.at ? ((b.cpuMs - a.cpuMs) / (b.at - a.at)) * 100 : 0;
}

// ---- parent side -----------------------------------------------------------------------------

const TAIL_LINES = 40;

export class BenchChild {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private seq = 0;
  private exited = false;
  private exitReason = '';
  private readonly exitPromise: Promise<void>;
  private readonly tail: string[] = [];

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    this.exitPromise = new Promise((resolve) => {
      // 'close' rather than 'exit': by then its last output has been read too.
      proc.once('close', (code, signal) => {
        this.exited = true;
        const last = this.tail.slice(-6).join('\n');
        this.exitReason = `${name} exited (${signal ?? `code ${code}`})${last ? `; its last output:\n${last}` : ''}`;
        const why = new Error(this.exitReason);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(why);
        }
        this.pending.clear();
        resolve();
      });
    });
    proc.on('error', () => {}); // reported through 'exit' and failed requests
    proc.on('message', (raw: unknown) => {
      const reply = raw as Reply;
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      clearTimeout(p.timer);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(`${name}: ${reply.error}`));
    });
    const keeper = (): ((chunk: Buffer) => void) => {
      let partial = '';
      return (chunk) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = (lines.pop() ?? '').slice(-2000);
        for (const line of lines) {
          if (line.trim() === '') continue;
          this.tail.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
          if (this.tail.length > TAIL_LINES) this.tail.shift();
        }
      };
    };
    proc.stdout?.on('data', keeper());
    proc.stderr?.on('data', keeper());
  }

  /** Forks `script` and waits for its `serve()` to be listening. */
  static async fork(name: string, script: URL, execArgv: string[] = [], readyTimeoutMs = 20_000): Promise<BenchChild> {
    const proc = fork(script, [], { execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const child = new BenchChild(name, proc);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.off('message', onMessage);
        reject(new Error(`${name} did not start within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      const onMessage = (m: unknown): void => {
        if ((m as Partial<ReadyMessage>).ready !== true) return;
        clearTimeout(timer);
        proc.off('message', onMessage);
        resolve();
      };
      proc.on('message', onMessage);
      void child.exitPromise.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready${child.stderrTail ? `:\n${child.stderrTail}` : ''}`));
      });
    }).catch(async (err: unknown) => {
      await child.kill();
      throw err;
    });
    return child;
  }

  /** The child's last lines of output (its logs, a stack trace). */
  get stderrTail(): string {
    return this.tail.join('\n');
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  request<T>(cmd: string, arg?: unknown, timeoutMs = 30_000): Promise<T> {
    if (this.exited || !this.proc.connected) return Promise.reject(new Error(this.exitReason || `${this.name} is not running`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.proc.send({ id, cmd, arg } satisfies Request, (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        reject(new Error(`${this.name}: cannot send ${cmd}: ${err.message}`));
      });
    });
  }

  /**
   * Ends the child. With `stopCmd`, that command first (a graceful close, for at most
   * `timeoutMs`), then a normal exit (so profiles get written); SIGKILL when it does not
   * leave in time. Idempotent; never throws.
   */
  async kill(stopCmd?: string, timeoutMs = 3000): Promise<void> {
    if (this.exited) return;
    if (stopCmd !== undefined) {
      await this.request(stopCmd, undefined, timeoutMs).catch(() => undefined);
      await this.request(EXIT, undefined, timeoutMs).catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.exitPromise, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    if (this.exited) return;
    this.proc.kill('SIGKILL');
    await this.exitPromise;
  }

  /** SIGKILL, synchronously: for process exit paths that cannot wait. */
  killNow(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}
