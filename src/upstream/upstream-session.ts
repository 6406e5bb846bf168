/**
 * One persistent, authenticated AMI session to one PBX: connect, read the banner, log in
 * (plain or MD5 challenge), keep alive with Ping, and reconnect with exponential backoff and
 * jitter after a drop or a failed login. Every state change is logged and reported.
 *
 * It owns the socket and nothing else: what arrives (bar its own Login/Ping/Logoff answers)
 * goes to `handlers.message`, paced (upstream-pacer.ts: in slices, and held while every client
 * is behind), and `send()` writes what the router gives it.
 */
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { AmiDecoder } from '../ami/decoder.js';
import { encodeMessage } from '../ami/encoder.js';
import { getHeader, messageKind, sameText, toWire, type AmiHeader, type AmiMessage } from '../ami/message.js';
import type { ServerConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { describeTlsError, upstreamTlsOptions } from '../tls/upstream-tls.js';
import { exponentialBackoff, type BackoffStrategy } from './backoff.js';
import { UpstreamPacer } from './upstream-pacer.js';
import type { ClientPace } from '../clients/shared/client-pace.js';

export type UpstreamState = 'connecting' | 'authenticating' | 'up' | 'down' | 'stopped';

export interface UpstreamStatus {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly state: UpstreamState;
  /** When the current state began (ms since the epoch). */
  readonly since: number;
  /** The AMI version from the banner, once one was read. */
  readonly amiVersion: string | undefined;
  /** Why the last connection ended or failed. */
  readonly lastError: string | undefined;
  /** Sessions established after the first one. */
  readonly reconnects: number;
}

export interface UpstreamHandlers {
  message(msg: AmiMessage): void;
  state(status: UpstreamStatus, previous: UpstreamState): void;
  /** Undecodable message from the PBX (broke a limit): the headers read, to answer its action. */
  protocolError?(text: string, headers: readonly AmiHeader[]): void;
}

export interface UpstreamOptions {
  /** Prefix for the session's own ActionIDs (Login, Ping, Logoff). */
  readonly idPrefix: string;
  readonly backoff?: BackoffStrategy;
  /** The proxy.conf the server came from: tls_ca is relative to its folder (default ./proxy.conf). */
  readonly configFile?: string;
  /** Whether the clients keep up: reading holds while most are behind, or a little while one is at risk (see upstream-pacer.ts). */
  readonly pace?: ClientPace;
}

/** A reply from the PBX that broke a decoder limit: handled in its place among the messages. */
class Undecodable {
  constructor(
    readonly text: string,
    readonly headers: readonly AmiHeader[],
  ) {}
}

const LOGOFF_WAIT_MS = 1000;

export class UpstreamSession {
  private socket: net.Socket | undefined;
  private decoder: AmiDecoder | undefined;
  private pacer: UpstreamPacer<AmiMessage | Undecodable> | undefined;
  private _state: UpstreamState = 'down';
  private since = Date.now();
  private amiVersion: string | undefined;
  private lastError: string | undefined;
  private sessions = 0;
  private attempt = 0;
  private seq = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private setupTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** The session's own actions in flight: ActionID → what to do with the response. */
  private readonly own = new Map<string, (msg: AmiMessage) => void>();
  private swallowFullyBooted = false;
  private stopping = false;
  /** Holds of earlier connections (see upstream-pacer.ts). */
  private pastHolds = 0;
  private pastReads = 0;
  private out: Buffer[] = [];
  private flushQueued = false;
  private readonly backoff: BackoffStrategy;
  private readonly log: Logger;

  constructor(
    readonly config: ServerConfig,
    private readonly handlers: UpstreamHandlers,
    log: Logger,
    private readonly options: UpstreamOptions,
  ) {
    this.log = log.child({ server: config.name });
    this.backoff =
      options.backoff ??
      exponentialBackoff({ minMs: config.reconnectMin * 1000, maxMs: config.reconnectMax * 1000 });
  }

  /** How many times reading waited for the clients (see upstream-pacer.ts), since start. */
  get holds(): number {
    return this.pastHolds + (this.pacer?.holds ?? 0);
  }

  /** Chunks read from the PBX since start. */
  get chunksRead(): number {
    return this.pastReads + (this.pacer?.reads ?? 0);
  }

  get state(): UpstreamState {
    return this._state;
  }

  get status(): UpstreamStatus {
    return {
      name: this.config.name,
      host: this.config.host,
      port: this.config.port,
      state: this._state,
      since: this.since,
      amiVersion: this.amiVersion,
      lastError: this.lastError,
      reconnects: Math.max(0, this.sessions - 1),
    };
  }

  start(): void {
    if (this._state === 'stopped' || this.stopping || this.socket) return;
    this.connect();
  }

  /** Sends an action upstream. False (and nothing sent) unless the session is up. */
  send(msg: AmiMessage): boolean {
    if (this._state !== 'up') return false;
    this.write(encodeMessage(msg));
    return true;
  }

  /**
   * Logs off (waiting briefly for Goodbye) and closes for good; no reconnect. Idempotent.
   * `logoff = false` closes the connection at once (a cluster node whose lease runs out).
   */
  async stop(logoff = true): Promise<void> {
    if (this._state === 'stopped' || this.stopping) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (socket && this._state === 'up' && logoff) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, LOGOFF_WAIT_MS);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        this.ownAction([['Action', 'Logoff']], () => socket.end());
      });
    }
    this.teardown();
    this.setState('stopped', 'stopped');
  }

  private connect(): void {
    clearTimeout(this.retryTimer);
    const { host, port, connectTimeout } = this.config;
    this.setState('connecting');
    let socket: net.Socket;
    if (this.config.tls) {
      let options: tls.ConnectionOptions;
      try {
        options = upstreamTlsOptions(this.config, { file: this.options.configFile ?? 'proxy.conf' });
      } catch (err) {
        this.failTls(`TLS: ${(err as Error).message}`);
        return;
      }
      if (!this.config.tlsVerify) this.log.warn({ host, port }, 'tls_verify = no: the PBX certificate is not checked');
      socket = tls.connect(options);
    } else {
      socket = net.connect({ host, port });
    }
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const pacer = new UpstreamPacer<AmiMessage | Undecodable>(socket, (item) => this.onItem(item), this.options.pace);
    this.pacer = pacer;
    this.decoder = new AmiDecoder(
      { side: 'from-server' },
      {
        banner: (line) => this.onBanner(line),
        message: (msg) => pacer.push(msg),
        error: (_code, text, headers) => pacer.push(new Undecodable(text, headers)),
      },
    );
    this.setupTimer = setTimeout(
      () => this.fail(`no AMI session within ${connectTimeout} s (connect, banner and login)`),
      connectTimeout * 1000,
    );
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      pacer.read();
      this.decoder?.push(chunk);
      pacer.run();
    });
    socket.on('error', (err) => {
      if (socket !== this.socket) return;
      const tlsReason = describeTlsError(err);
      if (tlsReason !== undefined) this.failTls(tlsReason);
      else this.fail(err.message);
    });
    socket.on('close', () => {
      if (socket === this.socket) this.fail('connection closed by the PBX');
    });
  }

  private onItem(item: AmiMessage | Undecodable): void {
    if (!(item instanceof Undecodable)) return this.onMessage(item);
    this.log.warn({ error: item.text }, 'undecodable message from the PBX');
    this.handlers.protocolError?.(item.text, item.headers);
  }

  private onBanner(line: string): void {
    const m = /^Asterisk Call Manager\/(\S+)/.exec(line);
    if (!m) {
      this.fail(`not an AMI server (banner: ${JSON.stringify(line.slice(0, 80))})`);
      return;
    }
    this.amiVersion = m[1];
    this.setState('authenticating');
    if (this.config.authType === 'md5') {
      this.ownAction([['Action', 'Challenge'], ['AuthType', 'MD5']], (res) => {
        const challenge = getHeader(res, 'Challenge');
        if (!sameText(getHeader(res, 'Response'), 'Success') || challenge === undefined) {
          this.fail(`MD5 challenge refused: ${getHeader(res, 'Message') ?? 'no challenge'}`);
          return;
        }
        const key = createHash('md5').update(Buffer.from(challenge + toWire(this.config.secret), 'latin1')).digest('hex');
        this.login([['AuthType', 'MD5'], ['Key', key]]);
      });
    } else {
      this.login([['Secret', toWire(this.config.secret)]]);
    }
  }

  private login(credentials: AmiHeader[]): void {
    const headers: AmiHeader[] = [['Action', 'Login'], ['Username', toWire(this.config.username)], ...credentials, ['Events', 'on']];
    this.ownAction(headers, (res) => {
      if (!sameText(getHeader(res, 'Response'), 'Success')) {
        this.fail(`login refused: ${getHeader(res, 'Message') ?? 'no reason given'}`);
        return;
      }
      clearTimeout(this.setupTimer);
      this.attempt = 0;
      this.sessions++;
      this.lastError = undefined;
      this.swallowFullyBooted = true;
      this.setState('up');
      this.startKeepalive();
    });
  }

  private onMessage(msg: AmiMessage): void {
    const id = getHeader(msg, 'ActionID');
    if (id !== undefined && messageKind(msg) === 'response') {
      const handler = this.own.get(id);
      if (handler) {
        this.own.delete(id);
        handler(msg);
        return;
      }
    }
    if (this._state !== 'up') return; // nothing but our own login traffic belongs to anyone before that
    if (this.swallowFullyBooted && sameText(getHeader(msg, 'Event'), 'FullyBooted')) {
      // Asterisk greets each new login with FullyBooted; this one is addressed to amiplex itself.
      this.swallowFullyBooted = false;
      return;
    }
    this.handlers.message(msg);
  }

  private ownAction(headers: AmiHeader[], onResponse: (msg: AmiMessage) => void): void {
    const id = `${this.options.idPrefix}${++this.seq}`;
    this.own.set(id, onResponse);
    this.write(encodeMessage({ headers: [...headers, ['ActionID', id]] }));
  }

  private startKeepalive(): void {
    const { keepalive, keepaliveTimeout } = this.config;
    if (keepalive <= 0) return;
    this.keepaliveTimer = setInterval(() => {
      if (this._state !== 'up' || this.pingTimer) return;
      this.pingTimer = setTimeout(
        () => this.fail(`keepalive Ping unanswered for ${keepaliveTimeout} s`),
        keepaliveTimeout * 1000,
      );
      this.ownAction([['Action', 'Ping']], () => {
        clearTimeout(this.pingTimer);
        this.pingTimer = undefined;
      });
    }, keepalive * 1000);
  }

  /** Batches the writes of one turn of the event loop into one socket write. */
  private write(buf: Buffer): void {
    this.out.push(buf);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      const out = this.out;
      this.out = [];
      const socket = this.socket;
      if (!socket || socket.destroyed || out.length === 0) return;
      socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    });
  }

  /** The session ended or could not be set up: report, clean up, and schedule the next attempt. */
  private fail(reason: string): void {
    if (this._state === 'stopped' || this.stopping) return;
    this.lastError = reason;
    this.teardown();
    const delay = this.backoff(this.attempt++);
    this.setState('down', `${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** A TLS failure (certificate, CA file): logged as an error when it is new, then as any failure. */
  private failTls(reason: string): void {
    if (reason !== this.lastError) this.log.error({ host: this.config.host, port: this.config.port, reason }, `TLS connection to PBX ${this.config.name} failed`);
    this.fail(reason);
  }

  private teardown(): void {
    // What was read before the end still counts (an answer, an event), before the session is reported gone.
    const pacer = this.pacer;
    this.pacer = undefined;
    if (pacer !== undefined) {
      if (this._state === 'up') pacer.flushNow();
      pacer.close();
      this.pastHolds += pacer.holds;
      this.pastReads += pacer.reads;
    }
    clearTimeout(this.setupTimer);
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
    this.own.clear();
    this.out = [];
    const socket = this.socket;
    this.socket = undefined;
    this.decoder = undefined;
    socket?.destroy();
  }

  private setState(state: UpstreamState, detail?: string): void {
    const previous = this._state;
    if (previous === state) return;
    this._state = state;
    this.since = Date.now();
    const fields = { state, previous, host: this.config.host, port: this.config.port, amiVersion: this.amiVersion };
    if (state === 'down') this.log.warn({ ...fields, reason: detail }, `PBX ${this.config.name} is down`);
    else this.log.info(fields, `PBX ${this.config.name} is ${state}`);
    this.handlers.state(this.status, previous);
  }
}
