/**
 * amiplex.js: AMI over one WebSocket for browser apps, served by amiplex at `/amiplex.js`
 * (docs/websocket.md). A small ES module without dependencies:
 *
 *     import { connect } from '/amiplex.js';
 *     const ami = connect('/ws');
 *     ami.on('event', (event) => console.log(event.Event, event));
 *     const [response, originate] = await ami.action({ Action: 'Originate', Channel: 'PJSIP/1001',
 *       Exten: '1002', Context: 'from-internal', Priority: '1', Async: 'true' });
 *
 * The browser sends the login cookie (or its cached Basic credentials) with the upgrade. A
 * socket that closes is opened again (after 1 s, doubling up to 30 s) with `since=` the last
 * event id seen, so no event is missed or repeated — unless it was closed by close() or by a
 * Logoff (code 1000). Actions sent while it is not open wait for it; those in flight when it
 * closes are rejected.
 */

/** An AMI message: header names as keys; a repeated header is an array of its values, in order. */
export type AmiMessage = Readonly<Record<string, string | readonly string[]>>;

/** What an action may hold: strings, arrays of strings (repeated headers), numbers and booleans (sent as text). */
export type AmiAction = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** An event frame as it came: the event, its feed id (absent on a ProxyEventsLost notice), the PBX it came from. */
export interface EventInfo {
  readonly id: number | undefined;
  readonly server: string | null;
}

export type SocketState = 'connecting' | 'open' | 'closed';

export interface ConnectOptions {
  /** Only these events (`event=`). */
  readonly events?: readonly string[];
  /** Only the events of these PBXes (`server=`). */
  readonly servers?: readonly string[];
  /** Start after this event id (`since=`): the events after it that amiplex still keeps come first. */
  readonly since?: number;
  /** Open the socket again when it closes (default true). */
  readonly reconnect?: boolean;
}

export interface ActionOptions {
  /** Reject when the whole answer has not come within this many ms (default 30 s; an async Originate: its Timeout and 30 s more). */
  readonly timeoutMs?: number;
  /** Told of each part of the answer as it comes (a list's items, an Originate's first response). */
  readonly onPart?: (part: AmiMessage) => void;
}

/** An action answered with `Response: Error`: `answer` holds what came. */
export class AmiError extends Error {
  constructor(
    message: string,
    readonly answer: readonly AmiMessage[],
  ) {
    super(message);
    this.name = 'AmiError';
  }
}

type Listeners = {
  event: (event: AmiMessage, info: EventInfo) => void;
  state: (state: SocketState, detail: { code?: number; reason?: string }) => void;
  /** amiplex did not read a frame (`{"type":"error"}`). */
  error: (message: string) => void;
};

interface Pending {
  readonly parts: AmiMessage[];
  readonly originate: boolean;
  readonly resolve: (answer: AmiMessage[]) => void;
  readonly reject: (err: Error) => void;
  readonly onPart: ((part: AmiMessage) => void) | undefined;
  readonly timer: ReturnType<typeof setTimeout>;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const TRUE_VALUES = new Set(['yes', 'true', 'y', 't', '1', 'on']);

let sockets = 0;

export class AmiplexSocket {
  /** The id of the last event received (the next socket resumes after it). */
  lastId: number | undefined;
  private ws: WebSocket | undefined;
  private current: SocketState = 'closed';
  private stopped = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private nextAction = 1;
  private readonly prefix = `amiplex-js-${++sockets}-`;
  private readonly waiting: string[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = { event: new Set(), state: new Set(), error: new Set() };

  constructor(
    readonly url: string,
    private readonly options: ConnectOptions = {},
  ) {
    this.lastId = options.since;
    this.open();
  }

  get state(): SocketState {
    return this.current;
  }

  /** Listens; returns the function that stops listening. */
  on<K extends keyof Listeners>(type: K, listener: Listeners[K]): () => void {
    this.listeners[type].add(listener);
    return () => this.listeners[type].delete(listener);
  }

  /**
   * Sends an action; resolves with its whole answer: the response, then a list's items and its
   * Complete event, or an async Originate's OriginateResponse. Rejects with an AmiError when the
   * response is `Response: Error`, or with an Error when the socket closes or time runs out.
   */
  action(action: AmiAction, options: ActionOptions = {}): Promise<AmiMessage[]> {
    const frame: Record<string, string | string[]> = {};
    let actionId: string | undefined;
    for (const [name, value] of Object.entries(action)) {
      frame[name] = Array.isArray(value) ? value.map(String) : String(value);
      if (name.toLowerCase() === 'actionid') actionId = String(value);
    }
    if (actionId === undefined || actionId === '') {
      actionId = `${this.prefix}${this.nextAction++}`;
      frame.ActionID = actionId;
    }
    const id = actionId;
    if (this.pending.has(id)) return Promise.reject(new Error(`an action with ActionID ${id} is already waiting for its answer`));
    const name = String(headerOf(action, 'Action') ?? '').toLowerCase();
    const originate = name === 'originate' && TRUE_VALUES.has(String(headerOf(action, 'Async') ?? '').toLowerCase());
    const ringMs = Number(headerOf(action, 'Timeout') ?? 30_000);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS + (originate && Number.isFinite(ringMs) ? ringMs : 0);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new Error(`no complete answer to ${name || 'the action'} within ${timeoutMs / 1000} s`)), timeoutMs);
      this.pending.set(id, { parts: [], originate, resolve, reject, onPart: options.onPart, timer });
      this.sendFrame(JSON.stringify(frame));
    });
  }

  /** Closes the socket for good (no reconnect); actions still waiting are rejected. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, 'closed by the page');
    this.failPending('the socket was closed');
  }

  private open(): void {
    const url = new URL(this.url, location.href);
    if (url.protocol === 'http:') url.protocol = 'ws:';
    else if (url.protocol === 'https:') url.protocol = 'wss:';
    for (const e of this.options.events ?? []) url.searchParams.append('event', e);
    for (const s of this.options.servers ?? []) url.searchParams.append('server', s);
    if (this.lastId !== undefined) url.searchParams.set('since', String(this.lastId));
    this.setState('connecting', {});
    const ws = new WebSocket(url.href);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = FIRST_RETRY_MS;
      this.setState('open', {});
      for (const text of this.waiting.splice(0)) ws.send(text);
    };
    ws.onmessage = (m: MessageEvent) => this.frame(m.data);
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.failPending(`the socket closed (${e.code}${e.reason ? `: ${e.reason}` : ''}) before the answer`);
      this.setState('closed', { code: e.code, reason: e.reason });
      if (this.stopped || e.code === 1000 || this.options.reconnect === false) return;
      this.retryTimer = setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    };
  }

  private sendFrame(text: string): void {
    if (this.ws !== undefined && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else this.waiting.push(text);
  }

  private frame(text: unknown): void {
    if (typeof text !== 'string') return;
    let f: { type?: unknown; id?: unknown; server?: unknown; data?: unknown; message?: unknown };
    try {
      f = JSON.parse(text) as typeof f;
    } catch {
      return;
    }
    if (f.type === 'error') {
      for (const l of this.listeners.error) l(String(f.message));
      return;
    }
    if (typeof f.data !== 'object' || f.data === null) return;
    const data = f.data as AmiMessage;
    if (f.type === 'response') return this.part(data);
    if (f.type !== 'event') return;
    const id = typeof f.id === 'number' ? f.id : undefined;
    if (id !== undefined) this.lastId = id;
    const info: EventInfo = { id, server: typeof f.server === 'string' ? f.server : null };
    for (const l of this.listeners.event) l(data, info);
  }

  /** A part of an answer: it goes to the action with its ActionID. */
  private part(data: AmiMessage): void {
    const id = text(data.ActionID);
    const p = this.pending.get(id);
    if (p === undefined) return;
    p.parts.push(data);
    p.onPart?.(data);
    const first = p.parts[0]!;
    if (text(first.Response).toLowerCase() === 'error') return this.settle(id, new AmiError(text(first.Message) || 'Response: Error', p.parts));
    const list = text(first.EventList).toLowerCase() === 'start';
    if (list) {
      if (text(data.EventList).toLowerCase() === 'complete') this.settle(id);
    } else if (p.originate && text(first.Response).toLowerCase() === 'success') {
      if (text(data.Event) === 'OriginateResponse') this.settle(id);
    } else {
      this.settle(id);
    }
  }

  private settle(id: string, err?: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(p.parts);
  }

  private failPending(why: string): void {
    this.waiting.length = 0;
    for (const id of [...this.pending.keys()]) this.settle(id, new Error(why));
  }

  private setState(state: SocketState, detail: { code?: number; reason?: string }): void {
    this.current = state;
    for (const l of this.listeners.state) l(state, detail);
  }
}

/** Opens a socket to amiplex (`url`: `/ws`, or a full `ws://` / `wss://` / `http(s)://` address). */
export function connect(url = '/ws', options: ConnectOptions = {}): AmiplexSocket {
  return new AmiplexSocket(url, options);
}

/** The value of a header, its name in any case. */
function headerOf(action: AmiAction, name: string): AmiAction[string] | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(action)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** A header's value as one string (the first of a repeated one). */
function text(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : (value[0] ?? '');
}
