/**
 * WebSocket fan-out next to raw TCP in the same run: N clients of one protocol through amiplex
 * while the PBX sends a steady rate, then N of the other, each measured the same way — every
 * client's rate over the window, exact completeness between two markers (as bench/fanout.ts),
 * and the latency of every client's events: the PBX publishes a probe event every 20 ms on
 * average, at random instants, carrying the instant it was due (wall clock, which the processes
 * share), each client notes when it arrives.
 *
 * The WebSocket clients are as cheap as the raw ones: node's HTTP client does the upgrade (HTTP
 * Basic), then a client only walks the frame headers to count text frames — nothing is decoded
 * or unmasked (server frames are never masked) — and looks into a frame only for a marker or a probe.
 */
import http from 'node:http';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { spread, tallyCounts, type Spread } from './fanout.js';
import { cpuText, measure, type HttpCpu } from './http.js';
import { fmtMs, median, sleep } from './numbers.js';
import { BENCH_USER, PROBE_KEY, type ProxyChildStats, type SimChildStats } from './protocol.js';
import { openCountingClients, scanProbes, type CountingClient } from './raw-clients.js';
import { startTarget, type Log, type Scope, type Settings, type Target } from './setup.js';

export type Protocol = 'tcp' | 'websocket';

export interface WsFanoutResult {
  readonly protocol: Protocol;
  readonly clients: number;
  readonly rate: number;
  /** Events per second each client received in the window, ascending. */
  readonly perClient: number[];
  readonly pbxRate: number;
  readonly expected: number;
  readonly dropped: number;
  readonly extra: number;
  readonly wrongClients: number;
  /** Probe latency over every client (ms). */
  readonly latency: Spread;
  readonly cpu: HttpCpu;
  readonly proxyLoopDelayMaxMs: number;
  readonly notes: string[];
}

const START_MARKER_TIMEOUT_MS = 20_000;
const AUTH = `Basic ${Buffer.from(`${BENCH_USER.username}:${BENCH_USER.secret}`, 'latin1').toString('base64')}`;
const JSON_PROBE = Buffer.from(`"${PROBE_KEY}":"`, 'latin1');
const QUOTE = 0x22;
const EMPTY = Buffer.alloc(0);

/** The counting side both kinds of client offer. */
interface Counter {
  count: number;
  countAtMarker: number | undefined;
  closed: boolean;
  closeReason: string | undefined;
  latencies: number[] | undefined;
  readonly watching: boolean;
  watchFor(tag: string): void;
  close(): void;
}

/** A WebSocket on `/ws` that counts text frames (see the module's comment). */
export class WsCounter implements Counter {
  count = 0;
  countAtMarker: number | undefined;
  closed = false;
  closeReason: string | undefined;
  latencies: number[] | undefined;
  private watched: Buffer | undefined;
  /** An unfinished frame's first bytes (header and what came of its payload). */
  private partial: Buffer = EMPTY;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    socket.on('error', (err) => {
      this.closeReason ??= err.message;
    });
    socket.on('close', () => {
      this.closed = true;
      this.closeReason ??= 'closed by amiplex';
    });
  }

  static open(port: number): Promise<WsCounter> {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/ws',
        agent: false,
        headers: { Authorization: AUTH, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
      });
      req.on('upgrade', (_res, socket, head) => {
        const c = new WsCounter(socket);
        if (head.length > 0) c.onChunk(head);
        resolve(c);
      });
      req.on('response', (res) => {
        res.resume();
        reject(new Error(`GET /ws: HTTP ${res.statusCode} instead of an upgrade`));
      });
      req.on('error', reject);
      req.end();
    });
  }

  get watching(): boolean {
    return this.watched !== undefined;
  }

  watchFor(tag: string): void {
    this.watched = Buffer.from(`"BenchMark":"${tag}"`, 'latin1');
    this.countAtMarker = undefined;
  }

  close(): void {
    this.closeReason ??= 'closed by the bench';
    this.socket.destroy();
  }

  private onChunk(chunk: Buffer): void {
    if (this.latencies) scanProbes(chunk, JSON_PROBE, QUOTE, this.latencies);
    const buf = chunk;
    let i = 0;
    if (this.partial.length > 0) {
      // Complete the unfinished frame with this chunk's first bytes (a header has at most 10).
      let size = frameSize(this.partial);
      if (size < 0) {
        const head = Buffer.concat([this.partial, chunk.subarray(0, 14)]);
        size = frameSize(head);
        if (size < 0) {
          this.partial = head;
          return;
        }
      }
      const missing = size - this.partial.length;
      if (chunk.length < missing) {
        this.partial = Buffer.concat([this.partial, chunk]);
        return;
      }
      this.frame(Buffer.concat([this.partial, chunk.subarray(0, missing)]), 0, size);
      this.partial = EMPTY;
      i = missing;
    }
    for (;;) {
      const size = frameSize(buf, i);
      if (size < 0 || buf.length - i < size) break;
      this.frame(buf, i, i + size);
      i += size;
    }
    if (i < buf.length) this.partial = Buffer.from(buf.subarray(i));
  }

  private frame(buf: Buffer, start: number, end: number): void {
    if ((buf[start]! & 0x0f) !== 1) return;
    const watched = this.watched;
    if (watched !== undefined) {
      const at = buf.indexOf(watched, start);
      if (at >= 0 && at < end) {
        this.countAtMarker = this.count;
        this.count = 0;
        this.watched = undefined;
        return;
      }
    }
    this.count++;
  }
}

/** The whole size of the frame starting at `i` (header and payload), or -1 when its header is not all there. */
function frameSize(buf: Buffer, i = 0): number {
  if (buf.length - i < 2) return -1;
  const len = buf[i + 1]! & 0x7f;
  if (len < 126) return 2 + len;
  if (len === 126) return buf.length - i < 4 ? -1 : 4 + buf.readUInt16BE(i + 2);
  return buf.length - i < 10 ? -1 : 10 + Number(buf.readBigUInt64BE(i + 2));
}

async function mark(t: Target, clients: readonly Counter[], tag: string, timeoutMs: number): Promise<number> {
  for (const c of clients) c.watchFor(tag);
  const before = await t.sim.request<number>('mark', tag);
  const deadline = performance.now() + timeoutMs;
  while (clients.some((c) => c.watching && !c.closed) && performance.now() < deadline) await sleep(20);
  return before;
}

/** N clients of `protocol` through amiplex, the PBX at a steady `rate`. */
export async function protocolFanout(scope: Scope, protocol: Protocol, n: number, rate: number, s: Settings, log: Log): Promise<WsFanoutResult> {
  const t = await startTarget(scope, 'amiplex', 0, s, `${protocol}-${n}`, [], { http: true });
  let clients: Counter[];
  if (protocol === 'tcp') {
    clients = scope.track(await openCountingClients(t.port, t.credentials, n)) as CountingClient[];
  } else {
    const port = await t.proxy!.request<number>('httpPort');
    clients = [];
    for (let i = 0; i < n; i++) clients.push(await WsCounter.open(port));
    scope.track(clients as WsCounter[]);
  }
  const tag = `${protocol}-${n}-${Date.now()}`;
  const startBefore = await mark(t, clients, `${tag}-start`, START_MARKER_TIMEOUT_MS);
  const missed = clients.filter((c) => c.watching);
  if (missed.length > 0) throw new Error(`${missed.length} of ${n} ${protocol} clients did not receive the start marker (${missed[0]!.closeReason ?? 'still open'})`);

  await t.sim.request('rate', rate);
  await t.sim.request('probes', true);
  await sleep(s.warmupMs);
  let c0: number[] = [];
  let c1: number[] = [];
  const w = await measure(t, s.windowMs, (edge) => {
    if (edge === 0) {
      c0 = clients.map((c) => c.count);
      for (const c of clients) c.latencies = [];
    } else {
      c1 = clients.map((c) => c.count);
    }
  });
  const samples = clients.flatMap((c) => c.latencies ?? []);
  for (const c of clients) c.latencies = undefined;
  await t.sim.request('probes', false);
  await t.sim.request('rate', 0);

  const endBefore = await mark(t, clients, `${tag}-end`, s.drainTimeoutMs);
  const expected = endBefore - startBefore - 1;
  const { dropped, extra, wrongClients, notes } = tallyCounts(clients, expected);
  const proxyEnd = await t.proxy!.request<ProxyChildStats>('stats');
  if (proxyEnd.slowClientsDropped > 0) notes.push(`amiplex disconnected ${proxyEnd.slowClientsDropped} clients as slow`);
  const internal = (await t.sim.request<SimChildStats>('stats')).internalErrors;
  if (internal > 0) notes.push(`the simulated PBX reported ${internal} internal errors`);
  const perClient = clients.map((_, i) => (c1[i]! - c0[i]!) / w.seconds).sort((a, b) => a - b);
  const result: WsFanoutResult = {
    protocol,
    clients: n,
    rate,
    perClient,
    pbxRate: w.pbxEvents / w.seconds,
    expected,
    dropped,
    extra,
    wrongClients,
    latency: spread(samples),
    cpu: w.cpu,
    proxyLoopDelayMaxMs: w.proxyEnd.loopDelayMaxMs,
    notes,
  };
  log(
    `  ${n} ${protocol} clients at ${rate} ev/s: min ${Math.round(perClient[0] ?? 0)}, median ${Math.round(median(perClient))} ev/s per client; ` +
      `latency p50 ${fmtMs(result.latency.p50)} ms, p99 ${fmtMs(result.latency.p99)} ms (${samples.length} probes); dropped ${dropped}; ${cpuText(w.cpu)}`,
  );
  for (const note of notes) log(`    ${note}`);
  await scope.release();
  return result;
}
