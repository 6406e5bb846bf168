/**
 * The chaos suite's raw AMI client: logs in, sends actions with ActionIDs of its own, and keeps
 * the books that say whether amiplex behaved — every action answered exactly once (one final
 * answer: a response, or the Complete event of its list), nothing carrying an ActionID this
 * client never sent, the connection still open.
 *
 * It reads what amiplex writes with amiplex's own decoder (from-server side), as a strict
 * client would.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { AmiDecoder } from '../../src/ami/decoder.js';
import { encodeMessage } from '../../src/ami/encoder.js';
import { getHeader, type AmiHeader, type AmiMessage } from '../../src/ami/message.js';

export interface Credentials {
  readonly username: string;
  readonly secret: string;
}

/** Whether a message is the last part of the answer to an action. */
export function isFinal(msg: AmiMessage): boolean {
  const first = msg.headers[0]?.[0]?.toLowerCase();
  const list = getHeader(msg, 'EventList')?.toLowerCase();
  if (first === 'response') return !(list === 'start' && getHeader(msg, 'Response') === 'Success');
  return first === 'event' && list === 'complete';
}

export function openSocket(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

export class ChaosClient {
  /** ActionIDs sent, and how many final answers each got. */
  readonly finals = new Map<string, number>();
  /** Messages carrying an ActionID this client never sent. */
  misrouted = 0;
  events = 0;
  /** Responses without an ActionID (the answers to blank lines and other malformed input). */
  anonymousResponses = 0;
  /** Final answers that were `Response: Error`. */
  errors = 0;
  /** ProxyServerDown / ProxyServerUp events seen. */
  serverDown = 0;
  serverUp = 0;
  closed = false;
  closedAt: number | undefined;
  /** Final answers, in the order they came (ActionIDs). */
  readonly order: string[] = [];
  private seq = 0;
  private readonly waiting = new Map<string, { resolve: (m: AmiMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private loginWaiter: ((m: AmiMessage) => void) | undefined;
  private readonly decoder: AmiDecoder;
  private readonly onMessage = new Set<(m: AmiMessage) => void>();

  private constructor(
    readonly socket: net.Socket,
    readonly name: string,
  ) {
    this.decoder = new AmiDecoder({ side: 'from-server' }, { message: (m) => this.message(m), error: () => undefined });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error(`${name}: connection closed`));
      }
      this.waiting.clear();
    });
  }

  /** Connects and logs in (events on or off). */
  static async open(port: number, who: Credentials, name: string, events: 'on' | 'off' = 'off'): Promise<ChaosClient> {
    const c = new ChaosClient(await openSocket(port), name);
    const answer = await new Promise<AmiMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no answer to Login within 15 s`)), 15_000);
      c.loginWaiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      c.socket.once('close', () => reject(new Error(`${name}: closed during Login`)));
      c.socket.write(encodeMessage({ headers: [['Action', 'Login'], ['Username', who.username], ['Secret', who.secret], ['Events', events], ['ActionID', `${name}-login`]] }));
    });
    if (getHeader(answer, 'Response') !== 'Success') throw new Error(`${name}: Login refused: ${getHeader(answer, 'Message')}`);
    return c;
  }

  /** A new ActionID of this client's own. */
  nextId(): string {
    return `${this.name}-${++this.seq}`;
  }

  /** Sends an action (an ActionID of its own is added); the returned id is what its answers carry. */
  send(headers: AmiHeader[]): string {
    const id = this.nextId();
    this.finals.set(id, 0);
    this.socket.write(encodeMessage({ headers: [...headers, ['ActionID', id]] }));
    return id;
  }

  /** Many actions in one write (pipelined); returns their ActionIDs in order. */
  sendMany(actions: readonly AmiHeader[][]): string[] {
    const ids: string[] = [];
    const bufs: Buffer[] = [];
    for (const headers of actions) {
      const id = this.nextId();
      this.finals.set(id, 0);
      ids.push(id);
      bufs.push(encodeMessage({ headers: [...headers, ['ActionID', id]] }));
    }
    this.socket.write(Buffer.concat(bufs));
    return ids;
  }

  /** Sends an action and waits for its final answer. */
  request(headers: AmiHeader[], timeoutMs = 30_000): Promise<{ answer: AmiMessage; ms: number }> {
    const started = performance.now();
    const id = this.send(headers);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${getHeader({ headers }, 'Action')} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: (answer) => resolve({ answer, ms: performance.now() - started }), reject, timer });
    });
  }

  /** Raw bytes, as a client that does not care for the protocol writes them. */
  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  watch(listener: (m: AmiMessage) => void): () => void {
    this.onMessage.add(listener);
    return () => this.onMessage.delete(listener);
  }

  /** Actions sent that have no final answer yet; and those with more than one. */
  get unanswered(): number {
    let n = 0;
    for (const v of this.finals.values()) if (v === 0) n++;
    return n;
  }

  get duplicated(): number {
    let n = 0;
    for (const v of this.finals.values()) if (v > 1) n++;
    return n;
  }

  close(): void {
    this.socket.destroy();
  }

  private message(m: AmiMessage): void {
    const id = getHeader(m, 'ActionID');
    if (id === `${this.name}-login`) {
      if (m.headers[0]?.[0] === 'Response') this.loginWaiter?.(m);
      return;
    }
    const event = getHeader(m, 'Event');
    if (event === 'ProxyServerDown') this.serverDown++;
    else if (event === 'ProxyServerUp') this.serverUp++;
    if (id === undefined) {
      if (event !== undefined) this.events++;
      else if (m.headers[0]?.[0] === 'Response') this.anonymousResponses++;
    } else if (!this.finals.has(id)) {
      this.misrouted++;
    } else if (isFinal(m)) {
      this.finals.set(id, this.finals.get(id)! + 1);
      if (getHeader(m, 'Response') === 'Error') this.errors++;
      this.order.push(id);
      const w = this.waiting.get(id);
      if (w) {
        this.waiting.delete(id);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
    for (const listener of this.onMessage) listener(m);
  }
}

/** Sums the books of many clients. */
export function tally(clients: readonly ChaosClient[]): { sent: number; unanswered: number; duplicated: number; misrouted: number; disconnected: number } {
  let sent = 0;
  let unanswered = 0;
  let duplicated = 0;
  let misrouted = 0;
  let disconnected = 0;
  for (const c of clients) {
    sent += c.finals.size;
    unanswered += c.unanswered;
    duplicated += c.duplicated;
    misrouted += c.misrouted;
    if (c.closed) disconnected++;
  }
  return { sent, unanswered, duplicated, misrouted, disconnected };
}
