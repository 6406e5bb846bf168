/**
 * A small raw AMI client for integration tests, over a real TCP socket.
 *
 * It reads what amiplex sends exactly as a strict client would: the banner line, then
 * messages decoded by amiplex's own decoder on its `from-server` side. Every message keeps
 * the exact bytes it arrived as (`raw`), and the whole byte stream is logged, so tests can
 * assert CRLF, header order and case byte for byte.
 *
 * Values are byte strings (one character per byte, latin1), as in `src/ami/message.ts`:
 * compare UTF-8 text through `wire()`.
 */
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { AmiDecoder } from '../../src/ami/decoder.js';
import type { AmiHeader } from '../../src/ami/message.js';

/** Headers as a client writes them: an ordered list of [name, value] (repeats allowed). */
export type Headers = ReadonlyArray<readonly [string, string]>;

export interface Received {
  /** Position in the order of arrival (0 = first message after the banner). */
  readonly index: number;
  readonly headers: readonly AmiHeader[];
  /** The exact bytes of the message, its blank terminating line included (latin1). */
  readonly raw: string;
  /** When it was decoded (ms since the epoch). */
  readonly at: number;
}

export type Predicate = (msg: Received) => boolean;

export interface ListResult {
  readonly response: Received;
  /** The list items, without the `…Complete` event. */
  readonly items: Received[];
  /** The event with `EventList: Complete`. */
  readonly complete: Received;
}

/** A UTF-8 JavaScript string as the byte string a message carries. */
export function wire(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** First value of a header (case-insensitive name), as in Asterisk. */
export function header(msg: { headers: readonly AmiHeader[] }, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of msg.headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of a header, in order. */
export function headers(msg: { headers: readonly AmiHeader[] }, name: string): string[] {
  const lower = name.toLowerCase();
  return msg.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** Whether a message has a header of that name at all. */
export function hasHeader(msg: { headers: readonly AmiHeader[] }, name: string): boolean {
  return header(msg, name) !== undefined;
}

export function isResponse(msg: Received): boolean {
  return msg.headers[0]?.[0] === 'Response';
}

export function isEvent(msg: Received, name?: string): boolean {
  if (msg.headers[0]?.[0] !== 'Event') return false;
  return name === undefined || msg.headers[0][1].toLowerCase() === name.toLowerCase();
}

/** Encodes headers as a client would send them (CRLF, blank line after). */
export function encodeAction(hs: Headers): string {
  return hs.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n';
}

/** The MD5 key of a challenge, as `Login` with `AuthType: MD5` expects. */
export function md5Key(challenge: string, secret: string): string {
  return createHash('md5').update(challenge + secret).digest('hex');
}

export function describeMessage(msg: Received): string {
  const text = msg.raw.length > 400 ? `${msg.raw.slice(0, 400)}…(${msg.raw.length} bytes)` : msg.raw;
  return `#${msg.index} ${JSON.stringify(text)}`;
}

let sequence = 0;

export class AmiTestClient {
  readonly socket: net.Socket;
  /** Every message received, in order. */
  readonly messages: Received[] = [];
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  /** The banner line, without its line ending ('' until it came). */
  banner = '';
  /** Decode errors reported by the decoder (should stay empty). */
  readonly decodeErrors: string[] = [];
  /**
   * Whether to keep messages and raw bytes (default true). Set it to false to only count them,
   * e.g. while a flood goes by: `received` and `bytesReceived` keep counting.
   */
  store = true;
  /** Messages decoded so far, stored or not. */
  received = 0;
  /** Bytes received so far, stored or not. */
  bytesReceived = 0;

  private readonly chunks: Buffer[] = [];
  private rawLength = 0;
  private readonly decoder: AmiDecoder;
  /** Raw framing, in parallel with the decoder: the bytes of each message. */
  private partial = '';
  private frame = '';
  private sawBanner = false;
  /** Frames cut but not yet paired with their decoded message (consumed within the same chunk). */
  private frames: string[] = [];
  private watchers = new Set<() => void>();
  private isClosed = false;
  private closeError: Error | undefined;

  private constructor(socket: net.Socket, readonly label: string) {
    this.socket = socket;
    this.decoder = new AmiDecoder(
      { side: 'from-server' },
      {
        banner: (line) => {
          this.banner = line;
        },
        message: (msg) => {
          const raw = this.frames.shift() ?? '';
          this.received++;
          if (this.store) this.messages.push({ index: this.messages.length, headers: msg.headers, raw, at: Date.now() });
        },
        error: (_code, text) => {
          this.frames.shift();
          this.decodeErrors.push(text);
        },
      },
    );
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        this.notify();
        resolve();
      });
    });
    socket.on('error', (err) => {
      this.closeError = err;
    });
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      if (this.store) {
        this.chunks.push(chunk);
        this.rawLength += chunk.length;
      }
      this.split(chunk.toString('latin1'));
      this.decoder.push(chunk);
      this.notify();
    });
  }

  /** Connects and waits for the banner line. */
  static async connect(port: number, host = '127.0.0.1', options: { label?: string; timeoutMs?: number; localAddress?: string } = {}): Promise<AmiTestClient> {
    const socket = net.connect(options.localAddress === undefined ? { host, port } : { host, port, localAddress: options.localAddress });
    socket.setNoDelay(true);
    const client = new AmiTestClient(socket, options.label ?? `client-${++sequence}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    await client.until(() => client.sawBanner, options.timeoutMs ?? 3000, 'the banner line');
    return client;
  }

  /**
   * Connects over TLS (`tlsOptions`: ca, cert, key, servername …), waits for the handshake,
   * then for the banner line.
   */
  static async connectTls(
    port: number,
    host = '127.0.0.1',
    tlsOptions: tls.ConnectionOptions = {},
    options: { label?: string; timeoutMs?: number } = {},
  ): Promise<AmiTestClient> {
    const socket = tls.connect({ host, port, ...tlsOptions });
    socket.setNoDelay(true);
    const client = new AmiTestClient(socket, options.label ?? `tls-client-${++sequence}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    await client.until(() => client.sawBanner, options.timeoutMs ?? 3000, 'the banner line', true);
    return client;
  }

  /** Every byte received so far (banner included). */
  rawBytes(): Buffer {
    return Buffer.concat(this.chunks, this.rawLength);
  }

  /** Every byte received so far, as a byte string. */
  rawText(): string {
    return this.rawBytes().toString('latin1');
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Writes raw bytes (a string is written as UTF-8). */
  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Writes one action with its headers in the given order. */
  sendAction(hs: Headers): void {
    this.send(encodeAction(hs));
  }

  /**
   * Waits for the first message at or after `from` that matches; rejects after `timeoutMs` with
   * a list of what was received.
   */
  waitFor(predicate: Predicate, timeoutMs = 3000, from = 0, what = 'a matching message'): Promise<Received> {
    let found: Received | undefined;
    let scanned = from;
    const check = (): boolean => {
      for (; scanned < this.messages.length; scanned++) {
        const m = this.messages[scanned]!;
        if (predicate(m)) {
          found = m;
          return true;
        }
      }
      return false;
    };
    return this.until(check, timeoutMs, what, true).then(() => found!);
  }

  /** Waits until `n` messages (counted from `from`) match. */
  async waitForCount(predicate: Predicate, n: number, timeoutMs = 3000, from = 0, what = `${n} matching messages`): Promise<Received[]> {
    await this.until(() => this.count(predicate, from) >= n, timeoutMs, what, true);
    return this.filter(predicate, from).slice(0, n);
  }

  /** Waits for the socket to close. */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    await this.until(() => this.isClosed, timeoutMs, 'the connection to close');
  }

  /** How many messages at or after `from` match. */
  count(predicate: Predicate, from = 0): number {
    let n = 0;
    for (let i = from; i < this.messages.length; i++) if (predicate(this.messages[i]!)) n++;
    return n;
  }

  /** The messages at or after `from` that match. */
  filter(predicate: Predicate, from = 0): Received[] {
    return this.messages.slice(from).filter((m) => predicate(m));
  }

  /**
   * Sends an action and waits for its response: the first `Response:` message with the same
   * ActionID, or, when the action has none, the first response without an ActionID.
   */
  async action(hs: Headers, timeoutMs = 3000): Promise<Received> {
    const from = this.messages.length;
    const id = header({ headers: hs }, 'ActionID');
    this.sendAction(hs);
    return this.waitFor(responseTo(id), timeoutMs, from, `the response to ${describeAction(hs)}`);
  }

  /**
   * Waits for a whole EventList with this ActionID (already sent): the response, every item
   * and the `EventList: Complete` event. Counted from `from`.
   */
  async collectList(actionId: string, timeoutMs = 3000, from = 0): Promise<ListResult> {
    const response = await this.waitFor(responseTo(actionId), timeoutMs, from, `the response with ActionID ${JSON.stringify(actionId)}`);
    const complete = await this.waitFor(
      (m) => isEvent(m) && header(m, 'ActionID') === actionId && header(m, 'EventList')?.toLowerCase() === 'complete',
      timeoutMs,
      response.index,
      `EventList: Complete with ActionID ${JSON.stringify(actionId)}`,
    );
    const items = this.messages
      .slice(response.index + 1, complete.index)
      .filter((m) => isEvent(m) && header(m, 'ActionID') === actionId);
    return { response, items, complete };
  }

  /** Sends an action and collects its EventList. */
  async list(hs: Headers, timeoutMs = 3000): Promise<ListResult> {
    const id = header({ headers: hs }, 'ActionID');
    if (id === undefined) throw new Error('list() needs an ActionID');
    const from = this.messages.length;
    this.sendAction(hs);
    return this.collectList(id, timeoutMs, from);
  }

  /**
   * Logs in with Username/Secret (and `Events:` when given); resolves with the response and
   * rejects unless it is `Response: Success`.
   */
  async login(user: string, secret: string, events?: string, timeoutMs = 3000): Promise<Received> {
    const hs: Array<[string, string]> = [
      ['Action', 'Login'],
      ['ActionID', `login-${this.label}`],
      ['Username', user],
      ['Secret', secret],
    ];
    if (events !== undefined) hs.push(['Events', events]);
    const res = await this.action(hs, timeoutMs);
    if (header(res, 'Response') !== 'Success') throw new Error(`login as ${user} failed: ${describeMessage(res)}`);
    return res;
  }

  /** Stops reading (the kernel buffers fill, then amiplex's output buffer). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Closes at once; resolves when closed. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.isClosed) this.socket.destroy();
    await this.closed;
  }

  /** A short description of everything received, for failure messages. */
  dump(from = 0, max = 40): string {
    const list = this.messages.slice(from);
    const shown = list.length > max ? [...list.slice(0, max / 2), undefined, ...list.slice(-max / 2)] : list;
    const lines = shown.map((m) => (m === undefined ? `  … ${list.length - max} more …` : `  ${describeMessage(m)}`));
    const rest = this.frame + this.partial;
    const tail = rest === '' ? '' : `\n  unterminated: ${JSON.stringify(rest.slice(0, 300))}`;
    const state = this.isClosed ? ` (closed${this.closeError ? `: ${this.closeError.message}` : ''})` : '';
    return `${this.label}${state}: banner ${JSON.stringify(this.banner)}, ${list.length} message(s) from #${from}` +
      (this.decodeErrors.length ? `, decode errors: ${this.decodeErrors.join('; ')}` : '') +
      (lines.length ? `\n${lines.join('\n')}` : '') + tail;
  }

  /** Resolves once `condition()` holds, checked on every arrival; rejects after timeoutMs. */
  private until(condition: () => boolean, timeoutMs: number, what: string, failOnClose = false): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.watchers.delete(watch);
        if (err) reject(err);
        else resolve();
      };
      const watch = () => {
        if (condition()) done();
        else if (failOnClose && this.isClosed) done(new Error(`${this.label}: connection closed while waiting for ${what}\n${this.dump()}`));
      };
      const timer = setTimeout(() => done(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.dump()}`)), timeoutMs);
      this.watchers.add(watch);
      if (failOnClose && this.isClosed) watch();
    });
  }

  private notify(): void {
    for (const watch of [...this.watchers]) watch();
  }

  /** Cuts the byte stream into the banner and messages, as the decoder does (a blank line ends a message). */
  private split(text: string): void {
    this.partial += text;
    let pos = 0;
    for (;;) {
      const lf = this.partial.indexOf('\n', pos);
      if (lf < 0) break;
      const line = this.partial.slice(pos, lf + 1);
      pos = lf + 1;
      if (!this.sawBanner) {
        this.sawBanner = true;
      } else if (line === '\n' || line === '\r\n') {
        // a blank line ends a message; blank lines between messages are skipped, as the decoder does
        if (this.frame !== '') this.frames.push(this.frame + line);
        this.frame = '';
      } else {
        this.frame += line;
      }
    }
    this.partial = this.partial.slice(pos);
  }
}

/** Matches the response to an action with this ActionID (or, for undefined, a response without one). */
export function responseTo(actionId: string | undefined): Predicate {
  return (m) => isResponse(m) && header(m, 'ActionID') === actionId;
}

/** Matches an event by name, optionally with this ActionID. */
export function eventNamed(name: string, actionId?: string): Predicate {
  return (m) => isEvent(m, name) && (actionId === undefined || header(m, 'ActionID') === actionId);
}

function describeAction(hs: Headers): string {
  const action = header({ headers: hs }, 'Action') ?? '(no Action)';
  const id = header({ headers: hs }, 'ActionID');
  return id === undefined ? action : `${action} (ActionID ${JSON.stringify(id)})`;
}
