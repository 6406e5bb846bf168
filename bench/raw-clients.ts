/**
 * The benchmark's measuring clients: raw AMI over TCP, as cheap as they can be, so that the
 * process running a thousand of them is not what is being measured.
 *
 * A `CountingClient` logs in and turns events on with raw exchanges, and from then on only
 * counts complete messages: one `Buffer.indexOf` of the blank line per message, plus a few byte
 * comparisons per chunk for a terminator split across two chunks. Nothing is decoded. Only when told to
 * `watchFor(tag)` does it look inside messages, for the marker event the PBX child publishes;
 * at the marker it records how many messages came since the previous marker.
 *
 * A `PingClient` sends Ping actions one at a time and times each round trip, finding its answer
 * by its ActionID among whatever events arrive around it.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { markerLine, PROBE_KEY, wallMs } from './protocol.js';

const TERM = Buffer.from('\r\n\r\n', 'latin1');
const CR = 13;
const LF = 10;
const EXCHANGE_TIMEOUT_MS = 15_000;

export interface Credentials {
  readonly username: string;
  readonly secret: string;
}

function loginAction(c: Credentials, events: 'on' | 'off'): Buffer {
  return Buffer.from(`Action: Login\r\nUsername: ${c.username}\r\nSecret: ${c.secret}\r\nEvents: ${events}\r\n\r\n`, 'latin1');
}

/** Opens a TCP connection (Nagle off). */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * Reads up to the first blank line (for Login, the banner line comes first) and checks it is a
 * `Response: Success`; resolves with the bytes that followed it, already the next messages.
 */
function awaitSuccess(socket: net.Socket, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let acc: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`no ${what} response within ${EXCHANGE_TIMEOUT_MS} ms`)), EXCHANGE_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
      const end = acc.indexOf(TERM);
      if (end < 0) return;
      const head = acc.toString('latin1', 0, end);
      if (!`\r\n${head}\r\n`.includes('\r\nResponse: Success\r\n')) {
        fail(new Error(`${what} refused: ${JSON.stringify(head.slice(0, 200))}`));
        return;
      }
      cleanup();
      resolve(acc.subarray(end + TERM.length));
    };
    const onClose = (): void => fail(new Error(`closed during ${what}`));
    const onError = (err: Error): void => fail(err);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}

/** A connection logged in with `Events: off`: nothing arrives on it until events are turned on. */
async function loggedInQuiet(port: number, credentials: Credentials): Promise<net.Socket> {
  const socket = await connect(port);
  socket.write(loginAction(credentials, 'off'));
  const rest = await awaitSuccess(socket, 'Login');
  if (rest.length > 0) {
    socket.destroy();
    throw new Error(`unexpected output after Login with Events: off: ${JSON.stringify(rest.toString('latin1', 0, 200))}`);
  }
  return socket;
}

export class CountingClient {
  /** Complete messages since login, or since the last marker seen (the marker not counted). */
  count = 0;
  /** At the last marker: the messages counted before it (since the marker before). */
  countAtMarker: number | undefined;
  closed = false;
  closeReason: string | undefined;
  /** While set: the latency (ms) of every probe event received (see bench/sim-child.ts), as it came. */
  latencies: number[] | undefined;

  /** Fast mode: the bytes after the last terminator of the previous chunk, at most 3. */
  private readonly tail = Buffer.alloc(3);
  private tailLen = 0;
  /** Watch mode: the marker line looked for, and the unfinished message. */
  private watch: Buffer | undefined;
  private pending: Buffer = Buffer.alloc(0);

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (this.latencies) scanProbes(chunk, RAW_PROBE, 0x0d, this.latencies);
      if (this.watch) this.onWatch(chunk);
      else this.onFast(chunk);
    });
    socket.on('error', (err) => {
      this.closeReason ??= err.message;
    });
    socket.on('close', () => {
      this.closed = true;
      this.closeReason ??= 'closed by the server';
    });
  }

  /** Turns events on for a quiet logged-in connection and starts counting what follows the answer. */
  static async start(socket: net.Socket): Promise<CountingClient> {
    socket.write('Action: Events\r\nEventMask: on\r\n\r\n', 'latin1');
    const rest = await awaitSuccess(socket, 'Events');
    const client = new CountingClient(socket);
    if (rest.length > 0) client.onFast(rest);
    return client;
  }

  /** From now on, look for the marker event `tag`; at it, note `count` and start again from 0. */
  watchFor(tag: string): void {
    this.watch = Buffer.from(markerLine(tag), 'latin1');
    this.pending = Buffer.from(this.tail.subarray(0, this.tailLen));
    this.tailLen = 0;
    this.countAtMarker = undefined;
  }

  get watching(): boolean {
    return this.watch !== undefined;
  }

  close(): void {
    this.closeReason ??= 'closed by the benchmark';
    this.socket.destroy();
  }

  /** Counts the terminators in `chunk`, one split across chunks included. */
  private onFast(chunk: Buffer): void {
    const len = chunk.length;
    let from = 0;
    const t = this.tailLen;
    if (t > 0) from = this.crossing(chunk);
    let i: number;
    while ((i = chunk.indexOf(TERM, from)) !== -1) {
      this.count++;
      from = i + 4;
    }
    // Keep what may start a terminator: at most 3 bytes after the last one.
    if (from === 0 && len < 3) {
      const keep = Math.min(3, t + len);
      const joined = Buffer.concat([this.tail.subarray(0, t), chunk]);
      joined.copy(this.tail, 0, joined.length - keep);
      this.tailLen = keep;
    } else {
      const start = Math.max(from, len - 3);
      this.tailLen = chunk.copy(this.tail, 0, start, len);
    }
  }

  /** A terminator that starts in the kept tail and ends in `chunk`: counted; returns where it ends. */
  private crossing(chunk: Buffer): number {
    const t = this.tailLen;
    const at = (j: number): number | undefined => (j < t ? this.tail[j] : chunk[j - t]);
    for (let s = 0; s < t; s++) {
      if (s + 4 - t > chunk.length) break;
      if (at(s) === CR && at(s + 1) === LF && at(s + 2) === CR && at(s + 3) === LF) {
        this.count++;
        return s + 4 - t;
      }
    }
    return 0;
  }

  private onWatch(chunk: Buffer): void {
    const watch = this.watch!;
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const mark = buf.indexOf(watch);
    const limit = mark < 0 ? buf.length : mark;
    let from = 0;
    let i: number;
    while ((i = buf.indexOf(TERM, from)) !== -1 && i < limit) {
      this.count++;
      from = i + 4;
    }
    if (mark >= 0) {
      const end = buf.indexOf(TERM, mark);
      if (end >= 0) {
        // The marker message is complete: note the count and go back to counting only.
        this.countAtMarker = this.count;
        this.count = 0;
        this.watch = undefined;
        this.pending = Buffer.alloc(0);
        this.tailLen = 0;
        const rest = buf.subarray(end + 4);
        if (rest.length > 0) this.onFast(rest);
        return;
      }
    }
    this.pending = Buffer.from(buf.subarray(from)); // the unfinished message, copied off the chunk
  }
}

const RAW_PROBE = Buffer.from(`\r\n${PROBE_KEY}: `, 'latin1');

/**
 * Adds the latency of every probe in `chunk` to `into`: the send time follows `needle` up to
 * `end` (a probe split by a chunk boundary is not measured: probes are a sample).
 */
export function scanProbes(chunk: Buffer, needle: Buffer, end: number, into: number[]): void {
  let at = chunk.indexOf(needle);
  if (at < 0) return;
  const now = wallMs();
  while (at >= 0) {
    const from = at + needle.length;
    const stop = chunk.indexOf(end, from);
    if (stop < 0) return;
    const sent = Number(chunk.toString('latin1', from, stop));
    if (Number.isFinite(sent)) into.push(now - sent);
    at = chunk.indexOf(needle, stop);
  }
}

/** Runs `task(i)` for i < n, `concurrency` at a time; the first failure stops the rest and is thrown. */
async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>, discard: (item: T) => void): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < n && failure === undefined) {
      const i = next++;
      try {
        out[i] = await task(i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  if (failure !== undefined) {
    for (const item of out) if (item !== undefined) discard(item);
    throw failure instanceof Error ? failure : new Error(String(failure));
  }
  return out;
}

/**
 * Opens `n` logged-in counting clients with events on. All log in first with `Events: off`
 * and turn events on only then, so that no client has to read the SuccessfulAuth event of every
 * later login (n² events a PBX sends, which amiplex does not).
 */
export async function openCountingClients(port: number, credentials: Credentials, n: number, concurrency = 50): Promise<CountingClient[]> {
  const sockets = await pool(n, concurrency, () => loggedInQuiet(port, credentials), (s) => s.destroy());
  try {
    return await pool(n, concurrency, (i) => CountingClient.start(sockets[i]!), (c) => c.close());
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  }
}

export class PingClient {
  private seq = 0;
  private waiting: { needle: Buffer; found: number; done: (ms: number) => void; fail: (e: Error) => void; sentAt: number } | undefined;
  private carry = Buffer.alloc(0);

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.waiting?.fail(new Error('the connection closed during a Ping')));
  }

  /** Connects and logs in, with events on: its answers arrive among the PBX's events. */
  static async open(port: number, credentials: Credentials): Promise<PingClient> {
    const socket = await connect(port);
    socket.write(loginAction(credentials, 'on'));
    await awaitSuccess(socket, 'Login');
    return new PingClient(socket);
  }

  /** One Ping; resolves with its round trip in ms (until the blank line ending its response). */
  ping(timeoutMs = 5000): Promise<number> {
    const id = `bench-ping-${++this.seq}`;
    const needle = Buffer.from(`\r\nActionID: ${id}\r\n`, 'latin1');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no answer to Ping ${id} within ${timeoutMs} ms`)), timeoutMs);
      const finish = (err: Error | undefined, ms = 0): void => {
        clearTimeout(timer);
        this.waiting = undefined;
        this.carry = Buffer.alloc(0);
        if (err) reject(err);
        else resolve(ms);
      };
      this.carry = Buffer.alloc(0);
      this.waiting = { needle, found: -1, done: (ms) => finish(undefined, ms), fail: (e) => finish(e), sentAt: performance.now() };
      this.socket.write(`Action: Ping\r\nActionID: ${id}\r\n\r\n`, 'latin1');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const w = this.waiting;
    if (!w) return;
    const now = performance.now();
    const buf = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    if (w.found < 0) w.found = buf.indexOf(w.needle);
    if (w.found >= 0) {
      if (buf.indexOf(TERM, w.found + w.needle.length - 2) >= 0) {
        w.done(now - w.sentAt);
        return;
      }
      this.carry = Buffer.from(buf.subarray(w.found));
      w.found = 0;
      return;
    }
    this.carry = Buffer.from(buf.subarray(Math.max(0, buf.length - w.needle.length)));
  }
}
