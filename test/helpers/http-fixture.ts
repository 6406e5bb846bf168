/**
 * HTTP test helpers: a proxy fixture with an HTTP listener (`http = 127.0.0.1:0`), a plain
 * node:http request function, a reader of raw AMI bodies (amiplex's own decoder), and a
 * Server-Sent Events client built on `http.get`.
 *
 *   afterEach(stopAllFixtures);
 *   const h = await startHttpFixture();
 *   const r = await h.get('/rawman?Action=Ping', { auth: 'alice' });
 */
import http from 'node:http';
import { AmiDecoder } from '../../src/ami/decoder.js';
import type { AmiHeader } from '../../src/ami/message.js';
import { parseConfig } from '../../src/config/index.js';
import { startProxy, type RunningProxy } from '../../src/daemon.js';
import {
  DEFAULT_USER,
  fixtureConfigText,
  startFixture,
  startSim,
  waitUntil,
  type FixtureOptions,
  type ProxyFixture,
  type Settings,
  type UserSpec,
} from './proxy-fixture.js';

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body as a byte string (latin1: one character per byte). */
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Sends HTTP Basic credentials of this fixture user (its fixture secret unless `secret`). */
  readonly auth?: string;
  readonly secret?: string;
  readonly cookie?: string;
  readonly agent?: http.Agent;
}

export interface HttpFixture {
  readonly fx: ProxyFixture;
  readonly host: string;
  readonly port: number;
  request(path: string, options?: RequestOptions): Promise<HttpResult>;
  get(path: string, options?: RequestOptions): Promise<HttpResult>;
  /** A form-encoded POST. */
  post(path: string, form: string, options?: RequestOptions): Promise<HttpResult>;
  /** The `Authorization` value for a fixture user. */
  basic(user: string, secret?: string): string;
  sse(path: string, options?: RequestOptions & { lastEventId?: string }): Promise<SseClient>;
}

/** Starts a fixture (see proxy-fixture.ts) with one HTTP listener on a free port. */
export async function startHttpFixture(options: FixtureOptions = {}): Promise<HttpFixture> {
  const fx = await startFixture({ ...options, general: { http: '127.0.0.1:0', ...options.general } });
  return wrap(fx, fx.proxy, options.users ?? [DEFAULT_USER]);
}

/**
 * A fixture started by hand, for HTTP options startFixture does not pass on (e.g. a short SSE
 * keep-alive or WebSocket ping interval): one simulated PBX `pbx1`, the given users. Returns it and its stop function.
 */
export async function startHttpProxyWith(
  options: { users?: readonly UserSpec[]; general?: Settings; sseKeepAliveMs: number; wsPingMs?: number },
): Promise<{ http: Omit<HttpFixture, 'fx'>; proxy: RunningProxy; stop(): Promise<void> }> {
  const { sim, port } = await startSim({});
  const users = options.users ?? [DEFAULT_USER];
  const text = fixtureConfigText([{ name: 'pbx1', port }], users, { listen: '127.0.0.1:0', http: '127.0.0.1:0', ...options.general });
  const proxy = await startProxy(parseConfig(text, 'test-proxy.conf'), {
    http: { sseKeepAliveMs: options.sseKeepAliveMs, ...(options.wsPingMs === undefined ? {} : { wsPingMs: options.wsPingMs }) },
  });
  await waitUntil(() => proxy.hub.servers.get('pbx1')?.session.state === 'up', 5000, 'pbx1 up');
  const h = wrap(undefined, proxy, users);
  return {
    http: h,
    proxy,
    async stop() {
      await h.closeStreams();
      await proxy.stop();
      await sim.stop();
    },
  };
}

function wrap(fx: ProxyFixture | undefined, proxy: RunningProxy, users: readonly UserSpec[]): HttpFixture & { closeStreams(): Promise<void> } {
  const address = proxy.http[0];
  if (!address) throw new Error('amiplex has no HTTP listener');
  const { host, port } = address;
  const secretOf = (name: string) => users.find((u) => u.name === name)?.secret ?? `${name}-secret`;
  const basic = (user: string, secret?: string) => 'Basic ' + Buffer.from(`${user}:${secret ?? secretOf(user)}`).toString('base64');
  const streams = new Set<SseClient>();
  const headersOf = (options: RequestOptions): Record<string, string> => {
    const h: Record<string, string> = { ...options.headers };
    if (options.auth !== undefined) h.Authorization = basic(options.auth, options.secret);
    if (options.cookie !== undefined) h.Cookie = options.cookie;
    return h;
  };
  const request = (path: string, options: RequestOptions = {}) =>
    httpRequest(port, host, path, { ...options, headers: headersOf(options) });
  const self: HttpFixture & { closeStreams(): Promise<void> } = {
    fx: fx!,
    host,
    port,
    request,
    get: (path, options = {}) => request(path, { ...options, method: 'GET' }),
    post: (path, form, options = {}) =>
      request(path, {
        ...options,
        method: 'POST',
        body: form,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...options.headers },
      }),
    basic,
    async sse(path, options = {}) {
      const headers = headersOf(options);
      if (options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId;
      const client = await SseClient.connect(port, host, path, headers);
      streams.add(client);
      return client;
    },
    async closeStreams() {
      for (const s of streams) s.close();
    },
  };
  if (fx) {
    // Event streams never end by themselves: close them when the fixture stops.
    const stop = fx.stop.bind(fx);
    (fx as { stop: () => Promise<void> }).stop = async () => {
      for (const s of streams) s.close();
      await stop();
    };
  }
  return self;
}

/** One HTTP request over a fresh connection (or the given agent); resolves with the whole body. */
export function httpRequest(port: number, host: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

export interface AmiBodyMessage {
  readonly headers: readonly AmiHeader[];
}

/** A raw AMI body (rawman) as its messages, read by amiplex's own decoder. */
export function amiMessages(body: string): AmiBodyMessage[] {
  const out: AmiBodyMessage[] = [];
  const decoder = new AmiDecoder(
    { side: 'from-server', banner: false },
    {
      message: (m) => out.push({ headers: m.headers }),
      error: (code, text) => {
        throw new Error(`undecodable AMI body: ${code} ${text}`);
      },
    },
  );
  decoder.push(Buffer.from(body, 'latin1'));
  if (decoder.midMessage) throw new Error('AMI body ends inside a message');
  return out;
}

/** First value of a header (case-insensitive). */
export function hv(msg: AmiBodyMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  return msg.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** The `mansession_id=…` pair of a Set-Cookie answer, to send back as Cookie. */
export function sessionCookieOf(res: HttpResult): string {
  const set = res.headers['set-cookie'] ?? [];
  const c = set.find((v) => v.startsWith('mansession_id='));
  if (!c) throw new Error(`no mansession_id cookie in ${JSON.stringify(res.headers)}`);
  return c.split(';')[0]!;
}

/** One event of an SSE stream. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly data: string;
}

/** A Server-Sent Events reader on a real HTTP connection (`http.get`). */
export class SseClient {
  readonly events: SseEvent[] = [];
  /** Comment lines (without the colon). */
  readonly comments: string[] = [];
  ended = false;
  private buffer = '';
  private req: http.ClientRequest | undefined;
  private res: http.IncomingMessage | undefined;

  private constructor() {}

  static connect(port: number, host: string, path: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      const req = http.get({ host, port, path, headers: { Accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        client.res = res;
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(Object.assign(new Error(`SSE status ${res.statusCode}: ${Buffer.concat(chunks).toString()}`), { status: res.statusCode })));
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (text: string) => client.feed(text));
        res.on('end', () => (client.ended = true));
        res.on('close', () => (client.ended = true));
        res.on('error', () => (client.ended = true));
        resolve(client);
      });
      client.req = req;
      req.on('error', (err) => {
        client.ended = true;
        reject(err);
      });
    });
  }

  get response(): http.IncomingMessage {
    return this.res!;
  }

  /** The data of every event, parsed as JSON. */
  objects(): Array<Record<string, unknown>> {
    return this.events.map((e) => JSON.parse(e.data) as Record<string, unknown>);
  }

  /** Stops reading the socket (a slow reader). */
  pause(): void {
    this.res?.pause();
  }

  close(): void {
    this.req?.destroy();
    this.ended = true;
  }

  async waitFor(condition: () => boolean, timeoutMs = 3000, what = 'SSE events'): Promise<void> {
    await waitUntil(condition, timeoutMs, what);
  }

  async waitForCount(n: number, timeoutMs = 3000): Promise<void> {
    await waitUntil(() => this.events.length >= n, timeoutMs, `${n} SSE events (have ${this.events.length})`);
  }

  private feed(text: string): void {
    this.buffer += text;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end < 0) return;
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line !== '') throw new Error(`unexpected SSE line: ${line}`);
      }
      if (data.length > 0) this.events.push({ id, data: data.join('\n') });
    }
  }
}
