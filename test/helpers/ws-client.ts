/**
 * A WebSocket test client on the `ws` package: connects to `/ws` of an HTTP fixture, keeps
 * every frame it receives (parsed), sends actions as JSON text frames.
 *
 *   const c = await WsTestClient.connect(h, '/ws', { auth: 'alice' });
 *   c.send({ Action: 'Ping', ActionID: '1' });
 *   const [answer] = await c.answers('1');
 *
 * A refused upgrade rejects with a WsRefused (its HTTP status and body).
 */
import { WebSocket, type ClientOptions } from 'ws';
import { waitUntil } from './proxy-fixture.js';

export type Frame = Record<string, unknown> & { type: string | number; data?: Record<string, unknown> };

export interface WsConnectOptions {
  /** HTTP Basic as this fixture user (its fixture secret unless `secret`). */
  readonly auth?: string;
  readonly secret?: string;
  readonly cookie?: string;
  readonly origin?: string;
  readonly protocols?: string | string[];
  /** Options of ws's client (autoPong…). */
  readonly ws?: ClientOptions;
}

export class WsRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: Record<string, string | string[] | undefined>,
  ) {
    super(`upgrade refused: ${status} ${body}`);
  }
}

const open = new Set<WsTestClient>();

/** Closes every client still open (call after each test). */
export function closeAllWsClients(): void {
  for (const c of open) c.terminate();
  open.clear();
}

export class WsTestClient {
  readonly frames: Frame[] = [];
  /** Frames that were not JSON (never expected). */
  readonly garbage: string[] = [];
  closeCode: number | undefined;
  closeReason: string | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = data.toString('utf8');
      try {
        if (isBinary) throw new Error('binary');
        this.frames.push(JSON.parse(text) as Frame);
      } catch {
        this.garbage.push(text);
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString('utf8');
      open.delete(this);
    });
    ws.on('error', () => {});
  }

  static connect(h: { host: string; port: number; basic(user: string, secret?: string): string }, path: string, options: WsConnectOptions = {}): Promise<WsTestClient> {
    const headers: Record<string, string> = {};
    if (options.auth !== undefined) headers.Authorization = h.basic(options.auth, options.secret);
    if (options.cookie !== undefined) headers.Cookie = options.cookie;
    const ws = new WebSocket(`ws://${h.host}:${h.port}${path}`, options.protocols ?? [], {
      headers,
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      ...options.ws,
    });
    const client = new WsTestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        open.add(client);
        resolve(client);
      });
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(new WsRefused(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), res.headers)));
      });
      ws.once('error', (err) => reject(err));
    });
  }

  send(action: unknown): void {
    this.ws.send(typeof action === 'string' ? action : JSON.stringify(action));
  }

  /** Frames of type `type`. */
  ofType(type: string | number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** Event frames (native envelope) whose data has `Event` = name. */
  events(name?: string): Frame[] {
    return this.ofType('event').filter((f) => name === undefined || f.data?.Event === name);
  }

  /** Answer frames (native envelope) carrying this ActionID. */
  answersTo(actionId: string): Frame[] {
    return this.ofType('response').filter((f) => f.data?.ActionID === actionId);
  }

  /** Waits until the answer to `actionId` is complete: its response, or the list up to its Complete event. */
  async answers(actionId: string, timeoutMs = 5000): Promise<Frame[]> {
    const complete = () => {
      const parts = this.answersTo(actionId);
      const first = parts[0]?.data;
      if (first === undefined) return false;
      if (first.EventList !== 'start') return true;
      return parts.some((p) => p.data?.EventList === 'Complete');
    };
    await waitUntil(complete, timeoutMs, `the answer to ${actionId}`);
    return this.answersTo(actionId);
  }

  async waitFor(condition: () => boolean, timeoutMs = 5000, what = 'frames'): Promise<void> {
    await waitUntil(condition, timeoutMs, what);
  }

  async closed(timeoutMs = 5000): Promise<number> {
    await waitUntil(() => this.closeCode !== undefined, timeoutMs, 'the socket to close');
    return this.closeCode!;
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}
