/**
 * A client's output, bounded the same way for every kind of client (raw AMI, event streams,
 * WebSockets): what one turn of the event loop queues goes out in one write, after every
 * upstream chunk read in that turn; a client whose unsent output stays over `client_buffer`
 * for `slow_client_timeout`, or ever exceeds `client_buffer_max`, is dropped by its owner so
 * it can slow no one else down. Output queued while over `client_buffer` is reported (the hub
 * adds it up against `client_buffer_total`).
 */
import type { Writable } from 'node:stream';

export interface OutputLimits {
  readonly clientBuffer: number;
  readonly clientBufferMax: number;
  readonly slowClientTimeoutMs: number;
}

/** Where a queue writes: the client's connection. */
export interface OutputSink {
  readonly isClosed: boolean;
  /** Bytes accepted for the client and not yet handed to the kernel. */
  readonly buffered: number;
  /** Writes one turn's output (`bytes` in all). */
  write(buffers: readonly Buffer[], bytes: number): void;
  /** Over a limit: the client is disconnected (counted and logged once by its owner). */
  drop(reason: string): void;
}

export class OutputQueue {
  private out: Buffer[] = [];
  private flushQueued = false;
  /** When the unsent output went over client_buffer; undefined while under. */
  private over: number | undefined;

  constructor(
    private readonly sink: OutputSink,
    /** The limits in force (a reload may change them). */
    private readonly limits: () => OutputLimits,
    /** Told of output queued while over client_buffer. */
    private readonly lagging: (bytes: number) => void = () => {},
  ) {}

  /** Queues `buf` for the write at the end of this turn. */
  push(buf: Buffer): void {
    this.out.push(buf);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is queued now, then checks the limits. */
  flush(): void {
    this.flushQueued = false;
    if (this.sink.isClosed || this.out.length === 0) return;
    const out = this.out;
    this.out = [];
    let bytes = 0;
    for (const buf of out) bytes += buf.length;
    this.sink.write(out, bytes);
    const { clientBuffer, clientBufferMax } = this.limits();
    const buffered = this.sink.buffered;
    if (buffered > clientBufferMax) {
      this.sink.drop(`output buffer over client_buffer_max (${clientBufferMax} bytes)`);
    } else if (buffered > clientBuffer) {
      this.over ??= Date.now();
      this.lagging(bytes);
    }
  }

  /** Forgets what is queued (the client is going away). */
  discard(): void {
    this.out = [];
  }

  /** The connection took all it had ('drain'): no longer over. */
  drained(): void {
    this.over = undefined;
  }

  /** When the unsent output went over client_buffer; undefined while under. */
  get overSince(): number | undefined {
    return this.over;
  }

  /** Called periodically: drops a client over client_buffer for longer than slow_client_timeout; whether it did. */
  checkSlow(now: number): boolean {
    if (this.over === undefined || this.sink.isClosed) return false;
    const { clientBuffer, slowClientTimeoutMs } = this.limits();
    if (this.sink.buffered <= clientBuffer) {
      this.over = undefined;
      return false;
    }
    if (now - this.over < slowClientTimeoutMs) return false;
    this.sink.drop(`output over client_buffer for more than ${slowClientTimeoutMs / 1000} s`);
    return true;
  }
}

/** What writableOutput needs of the client besides its connection. */
export interface WritableClient {
  readonly isClosed: boolean;
  /** Over a limit: disconnect it (counted and logged once). */
  drop(reason: string): void;
  limits(): OutputLimits;
  /** Output queued while over client_buffer (for client_buffer_total). */
  lagging?(bytes: number): void;
  /** Bytes handed to the connection. */
  sent?(bytes: number): void;
}

/** The output queue of a client whose connection is a node stream (a socket, an HTTP response): one write per turn. */
export function writableOutput(out: Writable, client: WritableClient): OutputQueue {
  return new OutputQueue(
    {
      get isClosed() {
        return client.isClosed;
      },
      get buffered() {
        return out.writableLength;
      },
      write: (bufs, bytes) => {
        client.sent?.(bytes);
        out.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs, bytes));
      },
      drop: (reason) => client.drop(reason),
    },
    () => client.limits(),
    (bytes) => client.lagging?.(bytes),
  );
}
