/**
 * The event feed of the HTTP listener: every event the hub broadcasts gets the next SSE id, is
 * kept in the replay buffer (`sse_replay` events) and is offered to every open stream.
 *
 * A reader that resumes (`Last-Event-ID`) first gets what it missed: from the replay buffer, or,
 * in cluster mode, from the cluster's event stream for what is older than the buffer (the ids
 * are the stream's sequence on every node, so it may come from another node). Resuming goes
 * through FeedReader, which any kind of client of the feed implements (an SSE stream here).
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
import { Outbound } from '../shared/outbound.js';
import type { SseEntry, SseStream } from './sse-stream.js';

export class FeedEntry implements SseEntry {
  readonly name: string;
  private readonly frames: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];

  constructor(
    /** undefined: an event outside the ids' sequence (see publish). */
    readonly id: number | undefined,
    readonly server: string | undefined,
    readonly out: Outbound,
    private readonly json: FormatModule,
  ) {
    this.name = (getHeader(out.message, 'Event') ?? '').toLowerCase();
  }

  frame(serverHeader: boolean): Buffer {
    const i = serverHeader ? 1 : 0;
    return (this.frames[i] ??= sseFrame(this.id, this.out.bytes(this.json, serverHeader)));
  }
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

/** A client of the feed, as resuming sees it. */
export interface FeedReader {
  /** Queues the event when the reader's filters admit it; whether it did. */
  offer(entry: FeedEntry): boolean;
  /** Some events after the id it resumes from are gone: this notice (ProxyEventsLost) comes first. */
  lost(notice: AmiMessage): void;
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
  /** Cluster mode: readers that resumed from an id this node had not reached, and that id. */
  private readonly ahead = new Map<object, number>();
  /** Cluster mode: readers still reading what they missed from the stream (not live yet). */
  private readonly resuming = new Set<object>();
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
   * mode: none).
   */
  publish(server: string | undefined, out: Outbound): void {
    if (out.seq === undefined && this.history !== undefined) {
      // Cluster mode, an event that is not in the stream (told here while NATS was unreachable): no id, not kept.
      const entry = new FeedEntry(undefined, server, out, this.json);
      for (const stream of this.streams) if (stream.offer(entry)) this.counters.eventsStreamed++;
      return;
    }
    const id = out.seq ?? this.replay.lastId + 1;
    const entry = new FeedEntry(id, server, out, this.json);
    this.replay.push(entry, id);
    let written = 0;
    if (this.ahead.size === 0) {
      for (const stream of this.streams) if (stream.offer(entry)) written++;
    } else {
      for (const stream of this.streams) if (this.due(stream, id) && stream.offer(entry)) written++;
    }
    this.counters.eventsStreamed += written;
  }

  /** Whether event `id` is new to a reader that resumed from an id this node had not reached yet. */
  private due(reader: object, id: number): boolean {
    const after = this.ahead.get(reader);
    if (after === undefined) return true;
    if (id <= after) return false;
    this.ahead.delete(reader);
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
    // The stream itself is the key of `ahead` and `resuming`: close() finds it there.
    this.resume(stream, reader, lastEventId, () => this.streams.add(stream));
  }

  /**
   * Gives `reader` what it missed after `lastEventId`, then calls `live` (from then on it gets
   * every new event). `key` identifies the reader to close(). At once when the replay buffer
   * holds it all (or without a cluster); in cluster mode, what is older than the buffer is read
   * from the stream first.
   */
  resume(key: object, reader: FeedReader, lastEventId: number | undefined, live: () => void): void {
    if (lastEventId === undefined) return live();
    if (this.history === undefined || this.replay.covers(lastEventId)) {
      this.fromBuffer(key, reader, lastEventId);
      return live();
    }
    this.resuming.add(key);
    void this.fromStream(key, reader, lastEventId, this.history).then((cursor) => {
      if (!this.resuming.delete(key)) return; // closed meanwhile
      this.fromBuffer(key, reader, cursor);
      live();
    });
  }

  /** The buffer's events after `lastId`, a ProxyEventsLost first when some are gone; in cluster mode an id this node has not reached yet is waited for. */
  private fromBuffer(key: object, reader: FeedReader, lastId: number): void {
    if (this.history !== undefined && lastId > this.replay.lastId) {
      // A client from a node a little further along the same stream: it gets what follows as this node catches up.
      if (lastId - this.replay.lastId <= AHEAD_MAX) this.ahead.set(key, lastId);
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
  private async fromStream(key: object, reader: FeedReader, lastEventId: number, history: EventHistory): Promise<number> {
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
        if (!this.resuming.has(key) || batch.length === 0) break;
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

  /** A stream (or another reader, by the key it resumed with) is gone. */
  close(key: object): void {
    this.streams.delete(key as SseStream);
    this.ahead.delete(key);
    this.resuming.delete(key);
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
