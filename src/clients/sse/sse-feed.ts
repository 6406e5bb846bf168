/**
 * The event feed of the HTTP listener: every event the hub broadcasts gets the next SSE id, is
 * kept in the replay buffer (`sse_replay` events) and is offered to every open stream, and to
 * every other reader of the feed (WebSockets, whose events carry the same ids).
 *
 * A client that resumes (`Last-Event-ID`, or a WebSocket's `since`) first gets what it missed:
 * from the replay buffer, or, in cluster mode, from the cluster's event stream for what is older
 * than the buffer (the ids are the stream's sequence on every node, so it may come from another
 * node). Resuming goes through FeedReader, which every kind of reader implements.
 *
 * Wire format of one event (the json format's object for the message, Server header included
 * unless the user has `server_header = no`):
 *
 *     id: 42
 *     data: {"Event":"Newchannel","Privilege":"call,all",…,"Server":"pbx1"}
 *
 * Each event is encoded once, whatever the number of streams: the json bytes come from the hub's
 * shared Outbound (the same bytes raw TCP json clients get), the frame is built once per variant.
 */
import { eventClassBits } from '../../ami/event-classes.js';
import { getHeader, type AmiMessage } from '../../ami/message.js';
import type { FormatModule } from '../../formats.js';
import type { EventHistory, HistoryEvent } from '../shared/event-history.js';
import { EventReplay } from '../shared/event-replay.js';
import { standalone } from '../shared/output-queue.js';
import { Outbound } from '../shared/outbound.js';
import type { SseEntry, SseStream } from './sse-stream.js';

export class FeedEntry implements SseEntry {
  readonly name: string;
  /** Without and with the Server header, then the same as standalone copies. */
  private readonly frames: [Buffer | undefined, Buffer | undefined, Buffer | undefined, Buffer | undefined] = [undefined, undefined, undefined, undefined];
  /** Frames other readers built of it (see cached). */
  private other: (Buffer | undefined)[] | undefined;

  constructor(
    /** undefined: an event outside the ids' sequence (see SseFeed.publish). */
    readonly id: number | undefined,
    readonly server: string | undefined,
    readonly out: Outbound,
    private readonly json: FormatModule,
  ) {
    this.name = (getHeader(out.message, 'Event') ?? '').toLowerCase();
  }

  frame(serverHeader: boolean, standaloneCopy = false): Buffer {
    const i = serverHeader ? 1 : 0;
    const frame = (this.frames[i] ??= sseFrame(this.id, this.out.bytes(this.json, serverHeader)));
    return standaloneCopy ? (this.frames[i + 2] ??= standalone(frame)) : frame;
  }

  /** The json format's encoding of the event (the bytes raw TCP json clients share). */
  jsonBytes(serverHeader: boolean): Buffer {
    return this.out.bytes(this.json, serverHeader);
  }

  /** A frame another reader builds of the event, built once (`slot`: which one, a small integer). */
  cached(slot: number, build: () => Buffer): Buffer {
    const other = (this.other ??= []);
    return (other[slot] ??= build());
  }
}

/** A reader of the feed as resuming sees it: an event stream, or a WebSocket. */
export interface FeedReader {
  /** Queues the event when its filters admit it; whether it did. */
  offer(entry: FeedEntry): boolean;
  /** Some events after the id it resumes from are gone: this notice (ProxyEventsLost) comes first. */
  lost(notice: AmiMessage): void;
}

/** An SSE frame: `id:` (when given), then the encoded message as `data:` lines, then a blank line. */
export function sseFrame(id: number | undefined, encoded: Buffer): Buffer {
  let body = encoded;
  if (body.length > 0 && body[body.length - 1] === 0x0a) body = body.subarray(0, body.length - 1);
  if (body.length > 0 && body[body.length - 1] === 0x0d) body = body.subarray(0, body.length - 1);
  const head = Buffer.from(id === undefined ? 'data: ' : `id: ${id}\ndata: `, 'latin1');
  // A format whose encoding spans lines (json's never does): one data line per line, as SSE joins them.
  if (body.indexOf(0x0a) >= 0 || body.indexOf(0x0d) >= 0) {
    const lines = body.toString('latin1').split(/\r\n|\r|\n/);
    body = Buffer.from(lines.join('\ndata: '), 'latin1');
  }
  return Buffer.concat([head, body, Buffer.from('\n\n', 'latin1')]);
}

/** How far ahead of this node a resuming client's Last-Event-ID may be, in cluster mode, to be waited for. */
const AHEAD_MAX = 100_000;
/** Cluster mode: the most events one resume reads from the stream (older ones are reported lost). */
export const RESUME_MAX = 100_000;
/** Cluster mode: events read from the stream at a time, and resumes reading it at once. */
const RESUME_BATCH = 2000;
const RESUMES_AT_ONCE = 2;

export class SseFeed {
  readonly streams = new Set<SseStream>();
  /** The feed's other readers (WebSockets). */
  readonly readers = new Set<FeedReader>();
  /** Cluster mode: streams and readers that resumed from an id this node had not reached, and that id. */
  private readonly ahead = new Map<SseStream | FeedReader, number>();
  /** Cluster mode: streams and readers still reading what they missed from the stream (not live yet). */
  private readonly resuming = new Set<SseStream | FeedReader>();
  private resumesRunning = 0;
  private readonly resumesWaiting: Array<() => void> = [];
  private readonly replay: EventReplay<FeedEntry>;

  constructor(
    private readonly json: FormatModule,
    replayCapacity: number,
    /** Counts the events written to streams (the hub's counter, for /metrics). */
    private readonly counters: { eventsStreamed: number },
    /** Cluster mode: the cluster's event stream, whose sequence numbers are this feed's ids. */
    private readonly history?: EventHistory,
  ) {
    this.replay = new EventReplay(replayCapacity);
  }

  get lastId(): number {
    return this.replay.lastId;
  }

  /**
   * An event broadcast by the hub. Its id: its sequence in the cluster's stream when it has one
   * (cluster mode: the same id on every node), else the next of this feed's own (in cluster
   * mode: none). `except`: the reader it already reached as an answer (an OriginateResponse to
   * its sender).
   */
  publish(server: string | undefined, out: Outbound, except?: unknown): void {
    if (out.seq === undefined && this.history !== undefined) {
      // Cluster mode, an event that is not in the stream (told here while NATS was unreachable): no id, not kept.
      const entry = new FeedEntry(undefined, server, out, this.json);
      for (const stream of this.streams) if (stream.offer(entry)) this.counters.eventsStreamed++;
      for (const reader of this.readers) if (reader !== except) reader.offer(entry);
      return;
    }
    const id = out.seq ?? this.replay.lastId + 1;
    const entry = new FeedEntry(id, server, out, this.json);
    this.replay.push(entry, id);
    let written = 0;
    if (this.ahead.size === 0) {
      for (const stream of this.streams) if (stream.offer(entry)) written++;
      for (const reader of this.readers) if (reader !== except) reader.offer(entry);
    } else {
      for (const stream of this.streams) if (this.due(stream, id) && stream.offer(entry)) written++;
      for (const reader of this.readers) if (reader !== except && this.due(reader, id)) reader.offer(entry);
    }
    this.counters.eventsStreamed += written;
  }

  /** Whether event `id` is new to a stream or reader that resumed from an id this node had not reached yet. */
  private due(who: SseStream | FeedReader, id: number): boolean {
    const after = this.ahead.get(who);
    if (after === undefined) return true;
    if (id <= after) return false;
    this.ahead.delete(who);
    return true;
  }

  /**
   * Starts a stream: the events after `lastEventId` (and, when some are lost, an
   * `Event: ProxyEventsLost` notice first, without an id), then every new one.
   */
  open(stream: SseStream, lastEventId: number | undefined): void {
    const reader: FeedReader = {
      offer: (entry) => {
        const taken = stream.offer(entry);
        if (taken) this.counters.eventsStreamed++;
        return taken;
      },
      lost: (notice) => stream.write(sseFrame(undefined, this.json.encode(notice))),
    };
    this.resume(stream, reader, lastEventId, () => this.streams.add(stream));
  }

  /** Adds a reader, first given the events after `lastEventId` as a stream is (see open). */
  openReader(reader: FeedReader, lastEventId: number | undefined): void {
    this.resume(reader, reader, lastEventId, () => this.readers.add(reader));
  }

  closeReader(reader: FeedReader): void {
    this.readers.delete(reader);
    this.ahead.delete(reader);
    this.resuming.delete(reader);
  }

  close(stream: SseStream): void {
    this.streams.delete(stream);
    this.ahead.delete(stream);
    this.resuming.delete(stream);
  }

  /**
   * Gives `reader` what `who` missed after `lastEventId`, then calls `live` (from then on it
   * gets every new event). At once when the replay buffer holds it all (or without a cluster);
   * in cluster mode, what is older than the buffer is read from the stream first.
   */
  private resume(who: SseStream | FeedReader, reader: FeedReader, lastEventId: number | undefined, live: () => void): void {
    if (lastEventId === undefined) return live();
    if (this.history === undefined || this.replay.covers(lastEventId)) {
      this.fromBuffer(who, reader, lastEventId);
      return live();
    }
    this.resuming.add(who);
    void this.fromStream(who, reader, lastEventId, this.history).then((cursor) => {
      if (!this.resuming.delete(who)) return; // closed meanwhile
      this.fromBuffer(who, reader, cursor);
      live();
    });
  }

  /** The buffer's events after `lastId`, a ProxyEventsLost first when some are gone; in cluster mode an id this node has not reached yet is waited for. */
  private fromBuffer(who: SseStream | FeedReader, reader: FeedReader, lastId: number): void {
    if (this.history !== undefined && lastId > this.replay.lastId) {
      // A client from a node a little further along the same stream: it gets what follows as this node catches up.
      if (lastId - this.replay.lastId <= AHEAD_MAX) this.ahead.set(who, lastId);
      return;
    }
    const { entries, missed, unknown } = this.replay.after(lastId);
    if (unknown || missed > 0) reader.lost(lostNotice(lastId, unknown ? 'unknown' : missed, unknown ? this.replay.lastId + 1 : (entries[0]?.id ?? this.replay.lastId + 1)));
    for (const { item } of entries) reader.offer(item);
  }

  /**
   * Cluster mode: what the reader missed before the replay buffer, read from the stream (at
   * most RESUME_MAX events); resolves with the id it got to. NATS unreachable: resolves with
   * where it was, and the buffer reports what is lost.
   */
  private async fromStream(who: SseStream | FeedReader, reader: FeedReader, lastEventId: number, history: EventHistory): Promise<number> {
    let cursor = lastEventId;
    await this.turn();
    try {
      const { first, last } = await history.bounds();
      if (cursor > last) {
        // Not an id of this stream (one from before it was created anew): nothing to resume from.
        reader.lost(lostNotice(lastEventId, 'unknown', last + 1));
        return Math.max(last, this.replay.lastId);
      }
      const from = Math.max(cursor + 1, first, last - RESUME_MAX + 1);
      if (from > cursor + 1) reader.lost(lostNotice(lastEventId, from - cursor - 1, from));
      cursor = from - 1;
      let end = last;
      // Until the replay buffer holds the rest (events keep coming meanwhile).
      for (let taken = 0; taken < RESUME_MAX && !this.replay.covers(cursor); ) {
        if (cursor >= end) {
          // This node has not got that far itself: it delivers what follows (see fromBuffer).
          if (cursor >= this.replay.lastId) break;
          end = (await history.bounds()).last;
          if (cursor >= end) break;
        }
        const batch = await history.read(cursor + 1, Math.min(end, cursor + RESUME_BATCH));
        if (!this.resuming.has(who) || batch.length === 0) break;
        for (const e of batch) {
          if (e.seq <= cursor) continue;
          reader.offer(this.entryOf(e));
          cursor = e.seq;
        }
        taken += batch.length;
      }
    } catch {
      // NATS went away meanwhile: what the buffer holds still comes, the rest is reported lost.
    } finally {
      this.turnDone();
    }
    return cursor;
  }

  private entryOf(e: HistoryEvent): FeedEntry {
    return new FeedEntry(e.seq, e.server, new Outbound(e.event, e.server, eventClassBits(e.event), e.seq), this.json);
  }

  /** Waits for a turn to read the stream (RESUMES_AT_ONCE at a time: many clients resuming at once do not swamp the node). */
  private async turn(): Promise<void> {
    if (this.resumesRunning >= RESUMES_AT_ONCE) await new Promise<void>((r) => this.resumesWaiting.push(r));
    this.resumesRunning++;
  }

  private turnDone(): void {
    this.resumesRunning--;
    this.resumesWaiting.shift()?.();
  }
}

function lostNotice(lastEventId: number, missed: number | 'unknown', next: number): AmiMessage {
  return {
    headers: [
      ['Event', 'ProxyEventsLost'],
      ['Privilege', 'system,all'],
      ['LastEventID', String(lastEventId)],
      ['Missed', String(missed)],
      ['NextEventID', String(next)],
    ],
  };
}
