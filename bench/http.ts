/**
 * The HTTP listener (`http = 127.0.0.1:0` added to amiplex's config):
 *
 * - actions: `concurrency` keep-alive connections, each sending `GET /rawman?Action=Ping` with
 *   HTTP Basic auth and the next when the answer is in (see http-load.ts for the client: wrk
 *   when installed, else node:http), requests per second and latency over a window after a
 *   warm-up, with the PBX idle; then, with the same client, a bare node:http server answering a
 *   fixed text (what Node's HTTP itself costs here) and Asterisk's AJAM when `--ajam` names one.
 *   An error is any answer other than a 200 saying `Response: Success`, or a request that failed.
 * - SSE fan-out: `streams` event streams (`GET /events`, Basic auth) while the PBX sends a steady
 *   rate; each stream counts its `data:` lines. Rates over a window; completeness with the marker
 *   technique of the TCP fan-out (bench/fanout.ts): between the start and end markers every
 *   stream must count exactly the events the PBX generated (one `data:` line per event: the JSON
 *   format writes an event on one line).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { request, type HttpTarget, type LoadClient, type LoadResult } from './http-load.js';
import { cpuPercent, cpuReading, type BenchChild, type CpuReading } from './ipc.js';
import { fmtMs, machineBusyMs, median, sleep } from './numbers.js';
import { BENCH_USER } from './protocol.js';
import type { ProxyChildStats, SimChildStats } from './protocol.js';
import { startTarget, type Log, type Scope, type Settings, type Target } from './setup.js';

const REQUEST_TIMEOUT_MS = 10_000;
const START_MARKER_TIMEOUT_MS = 20_000;
const AUTH = `Basic ${Buffer.from(`${BENCH_USER.username}:${BENCH_USER.secret}`, 'latin1').toString('base64')}`;

export interface HttpCpu {
  readonly sim: number;
  readonly proxy: number;
  readonly clients: number;
  readonly other: number;
}

/** CPU in the window, % of one core: the PBX (amiplex's run), the server measured, the client, and the rest of the machine. */
export interface HttpRunCpu {
  readonly pbx: number | undefined;
  readonly server: number | undefined;
  readonly client: number | undefined;
  readonly other: number;
}

/** One server under the HTTP actions load. */
export interface HttpRun {
  readonly label: string;
  readonly load: LoadResult;
  readonly cpu: HttpRunCpu;
  /** amiplex's longest event-loop delay in the window. */
  readonly loopDelayMaxMs: number | undefined;
}

export interface HttpActionsResult {
  /** The measuring client, as the report names it. */
  readonly client: string;
  readonly concurrency: number;
  readonly amiplex: HttpRun;
  readonly bare: HttpRun;
  /** AJAM's run, or why it was not measured. */
  readonly ajam: HttpRun | string;
  readonly ajamUrl: string | undefined;
}

export interface SseResult {
  readonly streams: number;
  readonly rate: number;
  /** Events per second each stream received in the window, ascending. */
  readonly perStream: number[];
  readonly total: number;
  readonly pbxRate: number;
  /** Events the PBX generated between the markers, which every stream must have received. */
  readonly expected: number;
  /** Events amiplex took in between the markers (undefined if it did not see both). */
  readonly proxyIn: number | undefined;
  readonly dropped: number;
  readonly extra: number;
  /** Streams whose count differs, or that never saw the end marker. */
  readonly wrongStreams: number;
  readonly closedStreams: number;
  readonly cpu: HttpCpu;
  readonly proxyLoopDelayMaxMs: number;
  readonly notes: string[];
}

// ---- HTTP actions ------------------------------------------------------------------------------

/** A 200 whose body says `Response: Success`: a Ping answered. */
function pingAnswered(status: number, body: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 120).replace(/\r?\n/g, ' ')}`;
  if (!body.includes('Response: Success')) return `200 without success: ${body.slice(0, 120).replace(/\r?\n/g, ' ')}`;
  return undefined;
}

/** One server measured: a warm-up load, then the load of the window with every process's CPU. */
async function loadOnce(client: LoadClient, target: HttpTarget, s: Settings, parts: { pbx?: BenchChild; server?: BenchChild }): Promise<Omit<HttpRun, 'label'>> {
  const before = await request(target);
  if (before !== undefined) throw new Error(`the first request was not answered right: ${before}`);
  await client.start(target, s.httpConcurrency, s.warmupMs).done;
  const load = client.start(target, s.httpConcurrency, s.windowMs);
  // CPU over the middle of the window: wrk's connections are open by then, and still open at its end.
  const edge = Math.min(300, s.windowMs / 10);
  await sleep(edge);
  const read = async () => ({
    at: performance.now(),
    busy: machineBusyMs(),
    client: load.clientCpuMs(),
    pbx: await parts.pbx?.request<SimChildStats>('stats'),
    server: await parts.server?.request<{ cpu: CpuReading; loopDelayMaxMs?: number }>('stats', true),
  });
  const r0 = await read();
  await sleep(s.windowMs - 2 * edge);
  const r1 = await read();
  const result = await load.done;
  const after = await request(target);
  const errorKinds = [...result.errorKinds, ...(after === undefined ? [] : [`after the load: ${after}`])];
  const ms = r1.at - r0.at;
  const pbx = r0.pbx && r1.pbx ? cpuPercent(r0.pbx.cpu, r1.pbx.cpu) : undefined;
  const server = r0.server && r1.server ? cpuPercent(r0.server.cpu, r1.server.cpu) : undefined;
  const clientCpu = r0.client !== undefined && r1.client !== undefined ? ((r1.client - r0.client) / ms) * 100 : undefined;
  const machine = ((r1.busy - r0.busy) / ms) * 100;
  return {
    load: { ...result, errors: result.errors + (after === undefined ? 0 : 1), errorKinds },
    cpu: { pbx, server, client: clientCpu, other: Math.max(0, machine - (pbx ?? 0) - (server ?? 0) - (clientCpu ?? 0)) },
    loopDelayMaxMs: r1.server?.loopDelayMaxMs,
  };
}

/** Logs in to Asterisk's HTTP manager (Action=Login, as AJAM clients do) and returns the Ping it answers with that session. */
async function ajamTarget(url: string): Promise<HttpTarget> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--ajam: not a URL: ${url}`);
  }
  if (u.protocol !== 'http:') throw new Error(`--ajam: only http:// URLs (${u.protocol})`);
  const username = decodeURIComponent(u.username);
  const secret = decodeURIComponent(u.password);
  if (username === '') throw new Error('--ajam: the URL must carry the manager user, as http://USER:SECRET@HOST:8088/asterisk/rawman');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 80);
  const path = u.pathname;
  const login = `${path}?Action=Login&Username=${encodeURIComponent(username)}&Secret=${encodeURIComponent(secret)}`;
  const cookie = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host, port, path: login, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('latin1');
        const session = (res.headers['set-cookie'] ?? []).map((c) => /mansession_id=("?)([^";]*)\1/.exec(c)).find((m) => m !== null);
        if (res.statusCode !== 200 || !body.includes('Response: Success') || !session) {
          reject(new Error(`--ajam: Login refused (HTTP ${res.statusCode}): ${body.slice(0, 120).replace(/\r?\n/g, ' ')}`));
        } else resolve(`mansession_id="${session[2]}"`);
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err) => reject(new Error(`--ajam: ${err.message}`)));
    req.end();
  });
  return { host, port, path: `${path}?Action=Ping`, headers: { Cookie: cookie }, check: pingAnswered };
}

/**
 * HTTP actions, three servers in turn with the same client: amiplex (`GET /rawman?Action=Ping`
 * with Basic auth, answered by the simulated PBX), the bare node:http reference answering a
 * fixed text, and Asterisk's AJAM when `ajam` names it.
 */
export async function httpActions(scope: Scope, s: Settings, log: Log, options: { client: LoadClient; ajam?: string }): Promise<HttpActionsResult> {
  const { client } = options;
  const runs: HttpRun[] = [];
  const line = (r: HttpRun) => {
    const l = r.load;
    const us = serverUsPerRequest(r);
    log(`  ${r.label}: ${Math.round(l.perSecond)} requests/s, p50 ${fmtMs(l.p50Ms)} ms, p99 ${fmtMs(l.p99Ms)} ms, errors ${l.errors}; ${runCpuText(r.cpu)}${us === undefined ? '' : `; server CPU ${us.toFixed(1)} µs per request`}`);
    for (const e of l.errorKinds) log(`    ${e}`);
  };

  const t = await startTarget(scope, 'amiplex', 0, s, 'http-actions-amiplex', [], { http: true });
  const port = await t.proxy!.request<number>('httpPort');
  const amiplex: HttpRun = { label: 'amiplex', ...(await loadOnce(client, { host: '127.0.0.1', port, path: '/rawman?Action=Ping', headers: { Authorization: AUTH }, check: pingAnswered }, s, { pbx: t.sim, server: t.proxy })) };
  line(amiplex);
  runs.push(amiplex);
  await scope.release();

  const profile = s.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${s.profileDir}`, '--cpu-prof-name=http-actions-bare.cpuprofile'];
  const bareChild = await scope.fork('bare node:http server', './bare-http-child.js', profile);
  const barePort = await bareChild.request<number>('start');
  const bare: HttpRun = { label: 'bare node:http', ...(await loadOnce(client, { host: '127.0.0.1', port: barePort, path: '/rawman?Action=Ping', headers: {}, check: pingAnswered }, s, { server: bareChild })) };
  line(bare);
  await scope.release();

  let ajam: HttpRun | string;
  if (options.ajam === undefined) {
    ajam = 'not measured: no --ajam URL given (no Asterisk reachable from here)';
  } else {
    try {
      ajam = { label: 'Asterisk AJAM', ...(await loadOnce(client, await ajamTarget(options.ajam), s, {})) };
      line(ajam);
    } catch (err) {
      ajam = `not measured: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (typeof ajam === 'string') log(`  Asterisk AJAM: ${ajam}`);
  return { client: client.name, concurrency: s.httpConcurrency, amiplex, bare, ajam, ajamUrl: options.ajam === undefined ? undefined : redactUrl(options.ajam) };
}

/** A URL as the report shows it: without its password. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** The server's CPU time per request answered, in µs: its cost, whoever was the bottleneck. */
export function serverUsPerRequest(r: HttpRun): number | undefined {
  return r.cpu.server === undefined || r.load.perSecond <= 0 ? undefined : (r.cpu.server * 1e4) / r.load.perSecond;
}

export function runCpuText(c: HttpRunCpu): string {
  const parts: string[] = [];
  if (c.pbx !== undefined) parts.push(`PBX ${Math.round(c.pbx)}`);
  if (c.server !== undefined) parts.push(`server ${Math.round(c.server)}`);
  if (c.client !== undefined) parts.push(`client ${Math.round(c.client)}`);
  parts.push(`other ${Math.round(c.other)}`);
  return parts.join(' · ');
}

// ---- SSE fan-out -------------------------------------------------------------------------------

const DATA = Buffer.from('\ndata:', 'latin1');

function occurrences(buf: Buffer, what: Buffer, from = 0, to = buf.length): number {
  let n = 0;
  let i = buf.indexOf(what, from);
  while (i >= 0 && i < to) {
    n++;
    i = buf.indexOf(what, i + what.length);
  }
  return n;
}

/** One event stream: counts `data:` lines; when told to watch for a marker, records the count at it. */
class SseCounter {
  count = 0;
  countAtMarker: number | undefined;
  closed = false;
  closeReason: string | undefined;
  private watched: Buffer | undefined;
  /** The last bytes received, for what a chunk boundary splits. */
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly req: http.ClientRequest) {}

  static open(port: number): Promise<SseCounter> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/events', agent: false, headers: { Authorization: AUTH, Accept: 'text/event-stream' } });
      const counter = new SseCounter(req);
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (err) => {
        counter.closeReason ??= err.message;
        counter.closed = true;
        reject(err);
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /events: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        req.setTimeout(0);
        res.socket.setNoDelay(true);
        res.on('data', (chunk: Buffer) => counter.onChunk(chunk));
        res.on('close', () => {
          counter.closed = true;
          counter.closeReason ??= 'closed by amiplex';
        });
        res.on('error', (err) => {
          counter.closeReason ??= err.message;
        });
        resolve(counter);
      });
      req.end();
    });
  }

  get watching(): boolean {
    return this.watched !== undefined;
  }

  watchFor(tag: string): void {
    // The JSON format quotes header values: `"BenchMark":"<tag>"`.
    this.watched = Buffer.from(`"${tag}"`, 'latin1');
    this.countAtMarker = undefined;
  }

  close(): void {
    this.closeReason ??= 'closed by the bench';
    this.req.destroy();
  }

  private onChunk(chunk: Buffer): void {
    const k = DATA.length - 1;
    // `\ndata:` split by the boundary: it can only lie in the previous chunk's last k bytes and this one's first k.
    const edge = Buffer.concat([this.tail.subarray(Math.max(0, this.tail.length - k)), chunk.subarray(0, k)]);
    const straddling = occurrences(edge, DATA);
    const watched = this.watched;
    if (watched) {
      const keep = Math.min(this.tail.length, watched.length - 1);
      const at = Buffer.concat([this.tail.subarray(this.tail.length - keep), chunk]).indexOf(watched);
      if (at >= 0) {
        // Where the marker lies in this chunk (negative: it began in the previous one). Its own
        // `data:` line begins dozens of bytes before it, so it is among those counted up to it.
        const pos = at - keep;
        this.countAtMarker = this.count + (pos >= 0 ? straddling + occurrences(chunk, DATA, 0, pos) : 0);
        this.watched = undefined;
      }
    }
    this.count += straddling + occurrences(chunk, DATA);
    this.keepTail(chunk);
  }

  private keepTail(chunk: Buffer): void {
    const need = 64;
    this.tail = chunk.length >= need ? Buffer.from(chunk.subarray(chunk.length - need)) : Buffer.concat([this.tail, chunk]).subarray(-need);
  }
}

async function mark(t: Target, streams: readonly SseCounter[], tag: string, timeoutMs: number): Promise<{ before: number; proxyIn: Promise<number | undefined> }> {
  for (const c of streams) c.watchFor(tag);
  await t.proxy!.request('watchMarker', tag);
  const proxyIn = t.proxy!.request<number>('markerSeen', tag, timeoutMs).catch(() => undefined);
  const before = await t.sim.request<number>('mark', tag);
  const deadline = performance.now() + timeoutMs;
  while (streams.some((c) => c.watching && !c.closed) && performance.now() < deadline) await sleep(20);
  return { before, proxyIn };
}

let sseSeq = 0;

export async function sseFanout(scope: Scope, n: number, rate: number, s: Settings, log: Log): Promise<SseResult> {
  const tag = `sse-${n}-${++sseSeq}`;
  const t = await startTarget(scope, 'amiplex', 0, s, `sse-${n}`, [], { http: true });
  const port = await t.proxy!.request<number>('httpPort');
  const streams = scope.track(await Promise.all(Array.from({ length: n }, () => SseCounter.open(port))));

  const start = await mark(t, streams, `${tag}-start`, START_MARKER_TIMEOUT_MS);
  const missed = streams.filter((c) => c.watching);
  if (missed.length > 0) throw new Error(`${missed.length} of ${n} event streams did not receive the start marker (${missed[0]!.closeReason ?? 'still open'})`);
  const starts = streams.map((c) => c.countAtMarker!);
  const proxyIn0 = await start.proxyIn;

  await t.sim.request('rate', rate);
  await sleep(s.warmupMs);
  let c0: number[] = [];
  let c1: number[] = [];
  const w = await measure(t, s.windowMs, (edge) => {
    if (edge === 0) c0 = streams.map((c) => c.count);
    else c1 = streams.map((c) => c.count);
  });
  await t.sim.request('rate', 0);

  const end = await mark(t, streams, `${tag}-end`, s.drainTimeoutMs);
  const expected = end.before - start.before - 1;
  const proxyIn1 = await end.proxyIn;
  let dropped = 0;
  let extra = 0;
  let wrongStreams = 0;
  const counts: number[] = [];
  for (const [i, c] of streams.entries()) {
    // Both marker counts include the marker's own line.
    const got = (c.countAtMarker ?? c.count) - starts[i]! - (c.countAtMarker === undefined ? 0 : 1);
    counts.push(got);
    if (got !== expected || c.countAtMarker === undefined) wrongStreams++;
    if (got < expected) dropped += expected - got;
    else extra += got - expected;
  }
  const notes: string[] = [];
  const proxyIn = proxyIn0 !== undefined && proxyIn1 !== undefined ? proxyIn1 - proxyIn0 - 1 : undefined;
  if (proxyIn === undefined) notes.push('amiplex did not see both markers');
  else if (proxyIn !== expected) notes.push(`amiplex took in ${proxyIn} events between the markers, of the ${expected} the PBX sent`);
  if (wrongStreams > 0) {
    counts.sort((a, b) => a - b);
    const noMarker = streams.filter((c) => c.countAtMarker === undefined);
    if (noMarker.length > 0) notes.push(`${noMarker.length} streams did not receive the end marker (${[...new Set(noMarker.map((c) => c.closeReason ?? 'still open'))].join('; ')})`);
    notes.push(`counts between markers: min ${counts[0]}, median ${median(counts)}, max ${counts.at(-1)}; expected ${expected}`);
  }
  const proxyEnd = await t.proxy!.request<ProxyChildStats>('stats');
  if (proxyEnd.slowClientsDropped > 0) notes.push(`amiplex disconnected ${proxyEnd.slowClientsDropped} event streams as slow`);
  const internal = (await t.sim.request<SimChildStats>('stats')).internalErrors;
  if (internal > 0) notes.push(`the simulated PBX reported ${internal} internal errors`);

  const perStream = streams.map((_, i) => (c1[i]! - c0[i]!) / w.seconds).sort((a, b) => a - b);
  const result: SseResult = {
    streams: n,
    rate,
    perStream,
    total: perStream.reduce((a, b) => a + b, 0),
    pbxRate: w.pbxEvents / w.seconds,
    expected,
    proxyIn,
    dropped,
    extra,
    wrongStreams,
    closedStreams: streams.filter((c) => c.closed).length,
    cpu: w.cpu,
    proxyLoopDelayMaxMs: w.proxyEnd.loopDelayMaxMs,
    notes,
  };
  log(
    `  ${n} streams at ${rate} ev/s: min ${Math.round(perStream[0] ?? 0)}, median ${Math.round(median(perStream))} ev/s per stream, ` +
      `total ${Math.round(result.total)} ev/s, PBX ${Math.round(result.pbxRate)} ev/s; ${expected} events between markers, dropped ${dropped}` +
      `${extra ? `, extra ${extra}` : ''}; ${cpuText(result.cpu)}; amiplex event-loop delay max ${fmtMs(result.proxyLoopDelayMaxMs)} ms`,
  );
  for (const note of notes) log(`    ${note}`);
  await scope.release();
  return result;
}

// ---- shared ------------------------------------------------------------------------------------

export function cpuText(c: HttpCpu): string {
  return `CPU PBX ${Math.round(c.sim)}% amiplex ${Math.round(c.proxy)}% clients ${Math.round(c.clients)}% other ${Math.round(c.other)}%`;
}

/** CPU of every process over `windowMs`, and amiplex's stats (event-loop delay reset at the start). */
export async function measure(
  t: Target,
  windowMs: number,
  at: (edge: 0 | 1) => void = () => {},
): Promise<{ seconds: number; pbxEvents: number; cpu: HttpCpu; proxyEnd: ProxyChildStats }> {
  at(0);
  const t0 = performance.now();
  const main0: CpuReading = cpuReading();
  const busy0 = machineBusyMs();
  const [sim0, proxy0] = await Promise.all([t.sim.request<SimChildStats>('stats'), t.proxy!.request<ProxyChildStats>('stats', true)]);
  await sleep(Math.max(0, windowMs - (performance.now() - t0)));
  at(1);
  const t1 = performance.now();
  const main1 = cpuReading();
  const busy1 = machineBusyMs();
  const [sim1, proxy1] = await Promise.all([t.sim.request<SimChildStats>('stats'), t.proxy!.request<ProxyChildStats>('stats')]);
  const sim = cpuPercent(sim0.cpu, sim1.cpu);
  const proxy = cpuPercent(proxy0.cpu, proxy1.cpu);
  const clients = cpuPercent(main0, main1);
  const machine = ((busy1 - busy0) / (t1 - t0)) * 100;
  // The children's counters are read a little after t0 and t1; over seconds that is noise.
  return { seconds: (t1 - t0) / 1000, pbxEvents: sim1.eventsGenerated - sim0.eventsGenerated, cpu: { sim, proxy, clients, other: Math.max(0, machine - sim - proxy - clients) }, proxyEnd: proxy1 };
}
