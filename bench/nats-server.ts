/**
 * A real nats-server (Debian's package, JetStream on) for the cluster tests and the benchmark:
 * a free port, a temporary store, stopped and started again on the same port and store as a
 * test needs.
 *
 *   const nats = await startNats();   ...   await nats.stop(); await nats.start();   ...   await nats.destroy();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from './numbers.js';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** The running server's process id (undefined while stopped). */
  readonly pid: number | undefined;
  /** Stops it (SIGTERM, SIGKILL after 5 s); the store is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  destroy(): Promise<void>;
  /** SIGKILL and the store removed, synchronously: for exit paths that cannot wait. */
  killNow(): void;
}



async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function startNats(): Promise<NatsServer> {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'amiplex-nats-'));
  let child: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    if (child) return;
    const c = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    c.once('exit', () => {
      if (child === c) child = undefined;
    });
    let up = false;
    await waitUntil(
      () => {
        if (!child) throw new Error(`nats-server exited:\n${output}`);
        void accepts(port).then((ok) => (up ||= ok && output.includes('Server is ready')));
        return up;
      },
      15_000,
      `nats-server on port ${port}`,
    );
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    const gone = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    child = undefined;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    killNow() {
      child?.kill('SIGKILL');
      rmSync(store, { recursive: true, force: true });
    },
    async destroy() {
      await stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}
