/**
 * A client's output, bounded the same way for every kind of client (raw AMI, event streams,
 * WebSockets). What one turn of the event loop queues for it goes out in one socket write,
 * after every upstream chunk read in that turn; every client written to in a turn is flushed
 * from one setImmediate. Up to JOIN_MAX bytes are joined into one Buffer first — one copy shared
 * by every client given the very same Buffers in that flush — since a writev of many small
 * Buffers costs the kernel and Node far more. Once the socket says to stop (over its high-water
 * mark), what comes next is held here, not in the socket's own queue, until it drains.
 *
 * Memory: what waits is held by reference, never joined into a copy per client. An event's
 * encoding, shared by every client that receives it, is held once however many of them have
 * yet to read it; a message for this client alone (`pushOwn`) that is going to wait is first
 * copied out of whatever larger buffer it is a view of, so a few waiting bytes never keep a read
 * chunk or a pooled slab alive (see `standalone`; shared encodings offer a standalone variant of
 * their own, made once).
 *
 * Limits: over `client_buffer` for `slow_client_timeout`, or ever over `client_buffer_max`, the
 * client is dropped by its owner; what it holds counts at once against `client_buffer_total`
 * (the OutputBudget shared by every client).
 *
 * Pace: the queue tells the clients' pace (client-pace.ts) when it falls behind (its socket
 * refuses more, with a quarter of `client_buffer` or more unsent), when it catches up, and when
 * it stalls (behind, its socket taking nothing for STALL_MS), and tallies each write as going to
 * a client ahead, behind, or behind and over client_buffer; the PBX sessions read it to slow
 * down when most clients are behind, or a little while one is at risk of being cut off.
 */
import { STALL_MS } from './client-pace.js';
import type { BudgetMember, OutputBudget } from './output-budget.js';

export interface OutputLimits {
  readonly clientBuffer: number;
  readonly clientBufferMax: number;
  readonly slowClientTimeoutMs: number;
}

/** What a queue writes to: a socket, or an HTTP response. */
export interface OutputSink {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
  on(event: 'drain', listener: () => void): unknown;
}

/** What the queue needs of the client besides its connection. */
export interface WritableClient {
  readonly isClosed: boolean;
  /** Over a limit: disconnect it (counted and logged once); `reason` says which. */
  drop(reason: string): void;
  /** The limits in force (a reload may change them). */
  limits(): OutputLimits;
  /** client_buffer_total, shared with every other client. */
  readonly budget: OutputBudget;
  /** Bytes handed to the connection. */
  sent?(bytes: number): void;
}

/** `buf` alone in memory: itself when it owns its whole ArrayBuffer, else an exact copy. */
export function standalone(buf: Buffer): Buffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf;
  const own = Buffer.allocUnsafeSlow(buf.length);
  own.set(buf);
  return own;
}

let dirty: OutputQueue[] = [];

/**
 * Most bytes of one flush joined into one Buffer before writing. Many small writes (an event and
 * its Server line are two) cost the kernel and Node's writev far more than one copy; over this,
 * or for a client that waited for its socket, they are written as they are (by reference).
 */
export const JOIN_MAX = 128 * 1024;

/**
 * While flushDirty runs: the Buffers of the last joined flush (the first `lastCount` of
 * `lastParts`, an array kept for every flush), and what they were joined into.
 */
const lastParts: (Buffer | undefined)[] = [];
let lastCount = 0;
let lastJoined: Buffer | undefined;
let flushingDirty = false;

function flushDirty(): void {
  const list = dirty;
  dirty = [];
  flushingDirty = true;
  try {
    for (const output of list) output.flush();
  } finally {
    flushingDirty = false;
    lastParts.fill(undefined, 0, lastCount);
    lastCount = 0;
    lastJoined = undefined;
  }
}

/**
 * The first `count` of `parts` as one Buffer of `bytes`: the previous client's when it was given
 * the very same Buffers in the same order (clients with the same format and filters are, within
 * one flush of every queue).
 */
function joined(parts: readonly (Buffer | undefined)[], count: number, bytes: number, shared: boolean): Buffer {
  if (shared && lastJoined !== undefined && lastCount === count) {
    let same = true;
    for (let i = 0; i < count; i++) {
      if (parts[i] !== lastParts[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastJoined;
  }
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const part = parts[i]!;
    out.set(part, at);
    at += part.length;
  }
  if (shared) {
    // Copied: the caller empties its array to fill it again.
    for (let i = 0; i < count; i++) lastParts[i] = parts[i];
    if (lastCount > count) lastParts.fill(undefined, count, lastCount);
    lastCount = count;
    lastJoined = out;
  }
  return out;
}

/**
 * Most entries of a queue's arrays kept from one flush to the next. Filling an emptied array
 * again is free; one made anew for each flush, grown a few times on the way to a hundred
 * entries, is most of what a fan-out allocates (and so of the garbage collector's pauses). Over
 * this, a lagging client's long array is let go.
 */
const KEEP_MAX = 512;

export class OutputQueue implements BudgetMember {
  counted = 0;
  /** Written at the next flush, or held while the sink is over its high-water mark: the first `count` of `pending`. */
  private pending: (Buffer | undefined)[] = [];
  private count = 0;
  /** The array the last flush wrote from, emptied: the next flush's pending (see KEEP_MAX). */
  private spare: (Buffer | undefined)[] = [];
  private pendingBytes = 0;
  /** The sink said to stop (write() returned false): hold everything until it drains. */
  private blocked = false;
  /** Unsent output from which a client whose socket refuses more counts as behind (a quarter of client_buffer). */
  private paceBytes: number;
  private pace: 'ahead' | 'behind' | 'stalled' = 'ahead';
  /** When it fell behind (ms since the epoch). */
  private behindSince = 0;
  /** When its socket last took all it had been given (ms since the epoch). */
  private drainedAt = 0;
  private scheduled = false;
  private done = false;
  /** When the unsent output went over client_buffer; undefined while under. */
  private over: number | undefined;

  constructor(
    private readonly sink: OutputSink,
    private readonly client: WritableClient,
  ) {
    client.budget.add(this);
    this.paceBytes = client.limits().clientBuffer / 4;
    sink.on('drain', () => {
      this.blocked = false;
      this.drainedAt = Date.now();
      this.flush();
      if (this.keepingUp) this.caughtUp();
      else if (this.pace === 'stalled') this.fellBehind();
    });
  }

  /** Bytes accepted for the client and not yet handed to the kernel. */
  get buffered(): number {
    return this.sink.writableLength + this.pendingBytes;
  }

  /** Whether what it is given now is going to wait in memory: the kernel has not taken all it was given before. */
  get lagging(): boolean {
    return this.blocked || this.sink.writableLength > 0;
  }

  /** When the unsent output went over client_buffer; undefined while under. */
  get overSince(): number | undefined {
    return this.over;
  }

  /** Queues bytes by reference (an event's encoding shared with other clients, or bytes of this client's own that no larger buffer holds). */
  push(buf: Buffer): void {
    if (this.done) return;
    this.pending[this.count++] = buf;
    this.pendingBytes += buf.length;
    const budget = this.client.budget;
    if (this.keepingUp) {
      if (this.pace !== 'ahead') this.caughtUp();
      budget.pace.wrote(false);
    } else if (this.pace === 'behind') {
      budget.pace.wrote(true, this.over !== undefined);
    } else if (this.pace === 'ahead') {
      this.fellBehind();
      budget.pace.wrote(true);
    }
    // Held here until the socket drains: it counts against the budget now, not at the flush.
    if (this.blocked) budget.grew(this, buf.length);
    if (this.done || this.scheduled) return;
    this.scheduled = true;
    if (dirty.length === 0) setImmediate(flushDirty);
    dirty.push(this);
  }

  /** A message for this client alone, perhaps a view into a larger buffer: copied out of it if it is going to wait. */
  pushOwn(buf: Buffer): void {
    this.push(this.lagging ? standalone(buf) : buf);
  }

  /**
   * Writes what is queued (otherwise written once per turn) unless the sink is over its
   * high-water mark — then it stays here, eight bytes of bookkeeping a Buffer, until the sink
   * drains (`force`: written anyway, before an end) — and checks the limits.
   */
  flush(force = false): void {
    this.scheduled = false;
    if (this.done || this.client.isClosed) return;
    if (this.count > 0 && (force || !this.blocked)) {
      const out = this.pending;
      const n = this.count;
      const bytes = this.pendingBytes;
      this.client.sent?.(bytes);
      this.pending = this.spare;
      this.count = 0;
      this.pendingBytes = 0;
      const sink = this.sink;
      let more = true;
      if (n === 1) {
        more = sink.write(out[0]!);
      } else if (bytes <= JOIN_MAX && sink.writableLength === 0) {
        more = sink.write(joined(out, n, bytes, flushingDirty));
      } else {
        sink.cork();
        for (let i = 0; i < n; i++) more = sink.write(out[i]!);
        sink.uncork();
      }
      if (out.length <= KEEP_MAX) {
        out.fill(undefined, 0, n);
        this.spare = out;
      } else this.spare = [];
      this.blocked = !more;
    }
    const buffered = this.buffered;
    const { clientBuffer, clientBufferMax } = this.client.limits();
    this.paceBytes = clientBuffer / 4;
    if (buffered > clientBufferMax) {
      this.drop(`output buffer over client_buffer_max (${clientBufferMax} bytes)`);
      return;
    }
    if (buffered > clientBuffer) this.over ??= Date.now();
    else this.over = undefined;
    this.client.budget.update(this, buffered);
  }

  /** Called periodically: drops a client over client_buffer for longer than slow_client_timeout; whether it did. */
  checkSlow(now: number): boolean {
    if (this.pace === 'behind' && now - Math.max(this.behindSince, this.drainedAt) > STALL_MS) {
      // Behind, and its socket has taken nothing for a while: it stopped reading, it paces nobody any more.
      this.pace = 'stalled';
      this.client.budget.pace.released();
    }
    if (this.over === undefined || this.done || this.client.isClosed) return false;
    const { clientBuffer, slowClientTimeoutMs } = this.client.limits();
    if (this.buffered <= clientBuffer) {
      this.over = undefined;
      return false;
    }
    if (now - this.over < slowClientTimeoutMs) return false;
    this.drop(`output over client_buffer for more than ${slowClientTimeoutMs / 1000} s`);
    return true;
  }

  /** Over client_buffer_total with the most queued (the budget decides). */
  shed(reason: string): void {
    this.drop(reason);
  }

  /** The client is going away: what is queued is forgotten, nothing more is written, and it no longer counts. */
  discard(): void {
    this.caughtUp();
    this.done = true;
    this.pending = [];
    this.count = 0;
    this.spare = [];
    this.pendingBytes = 0;
    this.client.budget.remove(this);
  }

  /** Whether it counts as ahead: its socket takes more, or less than a quarter of client_buffer is unsent. */
  private get keepingUp(): boolean {
    return !this.blocked || this.sink.writableLength + this.pendingBytes < this.paceBytes;
  }

  /** Its socket refuses more with a quarter of client_buffer unsent: it paces the PBXes until it catches up. */
  private fellBehind(): void {
    this.pace = 'behind';
    this.behindSince = Date.now();
    this.client.budget.pace.fellBehind();
  }

  /** Its unsent output is under the pace mark again (or it is going away): it paces nobody. */
  private caughtUp(): void {
    const was = this.pace;
    this.pace = 'ahead';
    if (was === 'behind') this.client.budget.pace.released();
  }

  private drop(reason: string): void {
    if (this.done) return;
    this.discard();
    this.client.drop(reason);
  }
}

/** The output queue of a client whose connection is a node stream (a socket, an HTTP response). */
export function writableOutput(out: OutputSink, client: WritableClient): OutputQueue {
  return new OutputQueue(out, client);
}
