/**
 * A client's output, bounded. What one turn of the event loop queues for it goes out in one
 * socket write (corked, so a writev), once every read of that turn is handled; every client
 * written to in a turn is flushed from one setImmediate. Once the socket says to stop (over its
 * high-water mark), what comes next is held here, not in the socket's own queue, until it drains.
 *
 * Memory: Buffers are written by reference, never joined into a copy per client. An event's
 * encoding, shared by every client that receives it, is held once however many of them have
 * yet to read it; a message for this client alone that is going to wait (its kernel buffer is
 * full) is first copied out of whatever larger buffer it is a view of, so a few waiting bytes
 * never keep a read chunk or a pooled slab alive (see `standalone`).
 *
 * Limits: over `client_buffer` for `slow_client_timeout`, or ever over `client_buffer_max`, the
 * client is disconnected; what it holds counts at once against `client_buffer_total` (the
 * OutputBudget shared by every client).
 */
import type { BudgetMember, OutputBudget } from './output-budget.js';

export interface OutputLimits {
  readonly clientBuffer: number;
  readonly clientBufferMax: number;
  readonly slowClientTimeoutMs: number;
}

/** What an output writes to: a socket, or an HTTP response. */
export interface OutputSink {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
  on(event: 'drain', listener: () => void): unknown;
}

/** `buf` alone in memory: itself when it owns its whole ArrayBuffer, else an exact copy. */
export function standalone(buf: Buffer): Buffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf;
  const own = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(own);
  return own;
}

let dirty: BoundedOutput[] = [];

function flushDirty(): void {
  const list = dirty;
  dirty = [];
  for (const output of list) output.flush();
}

export class BoundedOutput implements BudgetMember {
  counted = 0;
  /** When its unsent output went over client_buffer; undefined while under. */
  overSince: number | undefined;
  /** Bytes handed to the sink so far. */
  bytesWritten = 0;
  /** Written at the next flush, or held while the sink is over its high-water mark. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The sink said to stop (write() returned false): hold everything until it drains. */
  private blocked = false;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly sink: OutputSink,
    private readonly limits: () => OutputLimits,
    private readonly budget: OutputBudget,
    /** Disconnects the client for not reading (logs and counts it). */
    private readonly dropSlow: (reason: string) => void,
  ) {
    budget.add(this);
    sink.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
  }

  /** Bytes accepted for this client and not yet handed to the kernel. */
  get buffered(): number {
    return this.sink.writableLength + this.pendingBytes;
  }

  /** Whether what it is given now is going to wait in memory: the kernel has not taken all it was given before. */
  get lagging(): boolean {
    return this.blocked || this.sink.writableLength > 0;
  }

  /** A message for this client alone. */
  write(buf: Buffer): void {
    this.queue(this.lagging ? standalone(buf) : buf);
  }

  /** Bytes shared with other clients (an event's encoding), kept by reference. */
  writeShared(buf: Buffer): void {
    this.queue(buf);
  }

  private queue(buf: Buffer): void {
    if (this.closed) return;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    // Held here until the socket drains: it counts against the budget now.
    if (this.blocked) this.budget.grew(this, buf.length);
    if (this.closed || this.scheduled) return;
    this.scheduled = true;
    if (dirty.length === 0) setImmediate(flushDirty);
    dirty.push(this);
  }

  /**
   * Writes what is queued (it is otherwise written once per turn) unless the sink is over its
   * high-water mark — then it stays here, eight bytes of bookkeeping a Buffer, until the sink
   * drains (`force`: written anyway, before an end) — and checks the limits.
   */
  flush(force = false): void {
    this.scheduled = false;
    if (this.closed) return;
    if (this.pending.length > 0 && (force || !this.blocked)) {
      const out = this.pending;
      this.pending = [];
      this.bytesWritten += this.pendingBytes;
      this.pendingBytes = 0;
      const sink = this.sink;
      let more = true;
      if (out.length === 1) {
        more = sink.write(out[0]!);
      } else {
        sink.cork();
        for (const buf of out) more = sink.write(buf);
        sink.uncork();
      }
      this.blocked = !more;
    }
    const buffered = this.buffered;
    const { clientBuffer, clientBufferMax } = this.limits();
    if (buffered > clientBufferMax) {
      this.drop(`output buffer over client_buffer_max (${clientBufferMax} bytes)`);
      return;
    }
    if (buffered > clientBuffer) this.overSince ??= Date.now();
    else this.overSince = undefined;
    this.budget.update(this, buffered);
  }

  /**
   * Called periodically: disconnects the client when its unsent output has stayed over
   * client_buffer for longer than slow_client_timeout. Returns whether it did.
   */
  checkSlow(now: number): boolean {
    if (this.overSince === undefined || this.closed) return false;
    const { clientBuffer, slowClientTimeoutMs } = this.limits();
    if (this.buffered <= clientBuffer) {
      this.overSince = undefined;
      return false;
    }
    if (now - this.overSince < slowClientTimeoutMs) return false;
    this.drop(`output over client_buffer for more than ${slowClientTimeoutMs / 1000} s`);
    return true;
  }

  shed(reason: string): void {
    this.drop(reason);
  }

  /** The client is gone: nothing more is written, and it no longer counts. */
  close(): void {
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.budget.remove(this);
  }

  private drop(reason: string): void {
    if (this.closed) return;
    this.close();
    this.dropSlow(reason);
  }
}
