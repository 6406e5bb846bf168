/**
 * One Server-Sent Events stream (`GET /events`): the events its filters admit, as prepared
 * frames. Output is bounded like a raw TCP client's (shared/output-queue.ts): what one turn of
 * the event loop queues goes out as one write; a reader whose unsent output stays over
 * `client_buffer` for `slow_client_timeout`, or ever exceeds `client_buffer_max`, is
 * disconnected, and what it holds counts against client_buffer_total.
 */
import type http from 'node:http';
import type { OutputBudget } from '../shared/output-budget.js';
import type { UserConfig } from '../../config/index.js';
import { accessOf } from '../../access/user-access.js';
import type { EventView } from '../../filters/event-view.js';
import { writableOutput, type OutputLimits, type OutputQueue } from '../shared/output-queue.js';
import { socketRemote } from '../shared/socket-remote.js';

export type SseLimits = OutputLimits;

/** An event as the streams see it. */
export interface SseEntry {
  /** undefined: an event outside the ids' sequence (sent without `id:`). */
  readonly id: number | undefined;
  /** Its `Event:` name, lower case. */
  readonly name: string;
  readonly server: string | undefined;
  /** The event, as the user's filters look at it. */
  readonly out: EventView;
  /** The frame (`id:` and `data:` lines), with or without the Server header; `standalone`: in a buffer of its own. */
  frame(serverHeader: boolean, standalone?: boolean): Buffer;
}

export interface SseFilter {
  /** Event names (lower case); empty: all. */
  readonly events: ReadonlySet<string>;
  /** Servers this stream shows: those asked for, else every server of the user. */
  readonly servers: ReadonlySet<string>;
  /** No server was asked for: the stream follows the user's servers, a reload included. */
  readonly allServers?: boolean;
}

export interface SseHooks {
  /** client_buffer_total, shared with every other client. */
  readonly budget: OutputBudget;
  /** Disconnected for not reading (counted and logged once by the caller). */
  slow(stream: SseStream, reason: string): void;
  closed(stream: SseStream): void;
}

const KEEP_ALIVE = Buffer.from(': keep-alive\n\n');

let nextStreamId = 1;

export class SseStream {
  readonly id = nextStreamId++;
  readonly openedAt = Date.now();
  /** `address:port` of the reader (the status page lists it). */
  readonly remote: string;
  /** The reader's IP address, as its user's permit/deny checks it. */
  readonly address: string | undefined;
  eventsSent = 0;
  private readonly output: OutputQueue;
  private closed = false;
  private reported = false;

  constructor(
    private readonly res: http.ServerResponse,
    public user: UserConfig,
    private filter: SseFilter,
    limits: SseLimits,
    private readonly hooks: SseHooks,
    /** The login session it was opened with (cookie): its Filter applies, as to its WaitEvent. */
    private readonly session?: { readonly events: (event: EventView) => boolean },
  ) {
    const socket = res.req?.socket;
    this.address = socket?.remoteAddress;
    this.remote = socketRemote(socket);
    const stream = this;
    this.output = writableOutput(res, {
      get isClosed() {
        return stream.isClosed;
      },
      drop: (reason) => this.drop(reason),
      limits: () => limits,
      budget: hooks.budget,
    });
    res.on('close', () => this.onClose());
  }

  get isClosed(): boolean {
    return this.closed || this.res.destroyed;
  }

  /** Bytes accepted for this stream and not yet handed to the kernel. */
  get buffered(): number {
    return this.output.buffered;
  }

  /** A reload changed its user (same name): it keeps showing only servers the user may still use. */
  updateUser(user: UserConfig): void {
    this.user = user;
    const allowed = new Set(user.servers);
    const servers = this.filter.allServers ? allowed : new Set([...this.filter.servers].filter((s) => allowed.has(s)));
    this.filter = { ...this.filter, servers };
  }

  /** Whether this stream shows the event. */
  wants(entry: SseEntry): boolean {
    if (entry.server !== undefined && !this.filter.servers.has(entry.server)) return false;
    if (this.filter.events.size > 0 && !this.filter.events.has(entry.name)) return false;
    return (this.session?.events ?? accessOf(this.user).events)(entry.out);
  }

  /** Queues the event when the filters admit it; whether it did. */
  offer(entry: SseEntry): boolean {
    if (!this.wants(entry)) return false;
    this.eventsSent++;
    if (!this.isClosed) this.output.push(entry.frame(this.user.serverHeader, this.output.lagging));
    return true;
  }

  /** Bytes for this stream alone. */
  write(buf: Buffer): void {
    if (!this.isClosed) this.output.pushOwn(buf);
  }

  keepAlive(): void {
    if (!this.isClosed) this.output.push(KEEP_ALIVE);
  }

  /** Called periodically: disconnects a reader over client_buffer for longer than slow_client_timeout. */
  checkSlow(now: number): void {
    if (!this.isClosed) this.output.checkSlow(now);
  }

  /** Ends the stream after what is queued. */
  end(): void {
    if (this.isClosed) return;
    this.output.flush(true);
    this.closed = true;
    this.output.discard();
    this.res.end();
  }

  private drop(reason: string): void {
    if (this.isClosed) return;
    this.hooks.slow(this, reason);
    this.output.discard();
    this.res.destroy();
  }

  private onClose(): void {
    if (this.reported) return;
    this.reported = true;
    this.closed = true;
    this.output.discard();
    this.hooks.closed(this);
  }
}
