/**
 * The event feed of the HTTP listener: every event the hub broadcasts gets the next SSE id, is
 * kept in the replay buffer (`sse_replay` events) and is offered to every open stream, and to
 * every other reader of the feed (WebSockets, whose events carry the same ids).
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
import { getHeader, type AmiMessage } from '../../ami/message.js';
import type { FormatModule } from '../../formats.js';
import { EventReplay } from '../shared/event-replay.js';
import { standalone } from '../shared/output-queue.js';
import type { Outbound } from '../shared/outbound.js';
import type { SseEntry, SseStream } from './sse-stream.js';

export class FeedEntry implements SseEntry {
  readonly name: string;
  /** Without and with the Server header, then the same as standalone copies. */
  private readonly frames: [Buffer | undefined, Buffer | undefined, Buffer | undefined, Buffer | undefined] = [undefined, undefined, undefined, undefined];
  /** Frames other readers built of it (see cached). */
  private other: (Buffer | undefined)[] | undefined;

  constructor(
    readonly id: number,
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

/** Whoever reads the feed besides the event streams (a WebSocket). */
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

export class SseFeed {
  readonly streams = new Set<SseStream>();
  /** The feed's other readers (WebSockets). */
  readonly readers = new Set<FeedReader>();
  /** Cluster mode: streams and readers that resumed from an id this node had not reached, and that id. */
  private readonly ahead = new Map<SseStream | FeedReader, number>();
  /** Whether the ids are the cluster stream's. */
  private clustered = false;
  private readonly replay: EventReplay<FeedEntry>;

  constructor(
    private readonly json: FormatModule,
    replayCapacity: number,
    /** Counts the events written to streams (the hub's counter, for /metrics). */
    private readonly counters: { eventsStreamed: number },
  ) {
    this.replay = new EventReplay(replayCapacity);
  }

  get lastId(): number {
    return this.replay.lastId;
  }

  /**
   * An event broadcast by the hub. Its id: its sequence in the cluster's stream when it has one
   * (cluster mode: the same id on every node), else the next of this feed's own. `except`: the
   * reader it already reached as an answer (an OriginateResponse to its sender).
   */
  publish(server: string | undefined, out: Outbound, except?: unknown): void {
    if (out.seq !== undefined) this.clustered = true;
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
   * Starts a stream: the events after `lastEventId` that are still kept (and, when some are lost,
   * an `Event: ProxyEventsLost` notice first, without an id), then every new one.
   */
  open(stream: SseStream, lastEventId: number | undefined): void {
    this.counters.eventsStreamed += this.start(stream, lastEventId, {
      offer: (entry) => stream.offer(entry),
      lost: (notice) => stream.write(sseFrame(undefined, this.json.encode(notice))),
    });
    this.streams.add(stream);
  }

  /** Adds a reader, first given the events after `lastEventId` as a stream is (see open). */
  openReader(reader: FeedReader, lastEventId: number | undefined): void {
    this.start(reader, lastEventId, reader);
    this.readers.add(reader);
  }

  closeReader(reader: FeedReader): void {
    this.readers.delete(reader);
    this.ahead.delete(reader);
  }

  /** Where `who` starts after `lastEventId`: waiting for it (cluster mode), or the replay; how many events it took. */
  private start(who: SseStream | FeedReader, lastEventId: number | undefined, reader: FeedReader): number {
    if (lastEventId === undefined) return 0;
    if (this.clustered && lastEventId > this.replay.lastId && lastEventId - this.replay.lastId <= AHEAD_MAX) {
      // Cluster mode: the client comes from a node a little further along the same stream; it
      // gets what follows its id as this node catches up.
      this.ahead.set(who, lastEventId);
      return 0;
    }
    const { entries, missed, unknown } = this.replay.after(lastEventId);
    if (unknown || missed > 0) {
      reader.lost({
        headers: [
          ['Event', 'ProxyEventsLost'],
          ['Privilege', 'system,all'],
          ['LastEventID', String(lastEventId)],
          ['Missed', unknown ? 'unknown' : String(missed)],
          ['NextEventID', String(unknown ? this.replay.lastId + 1 : (entries[0]?.id ?? this.replay.lastId + 1))],
        ],
      });
    }
    let taken = 0;
    for (const { item } of entries) if (reader.offer(item)) taken++;
    return taken;
  }

  close(stream: SseStream): void {
    this.streams.delete(stream);
    this.ahead.delete(stream);
  }

}
