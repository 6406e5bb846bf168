/**
 * The event feed of the HTTP listener: every event the hub broadcasts gets the next SSE id, is
 * kept in the replay buffer (`sse_replay` events) and is offered to every open stream.
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
import type { Outbound } from '../shared/outbound.js';
import type { SseEntry, SseStream } from './sse-stream.js';

class FeedEntry implements SseEntry {
  readonly name: string;
  private readonly frames: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];

  constructor(
    readonly id: number,
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

/** How far ahead of this node a resuming client's Last-Event-ID may be, in cluster mode, to be waited for. */
const AHEAD_MAX = 100_000;

export class SseFeed {
  readonly streams = new Set<SseStream>();
  /** Cluster mode: streams that resumed from an id this node had not reached, and that id. */
  private readonly ahead = new Map<SseStream, number>();
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
   * (cluster mode: the same id on every node), else the next of this feed's own.
   */
  publish(server: string | undefined, out: Outbound): void {
    if (out.seq !== undefined) this.clustered = true;
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

  /** Whether event `id` is new to a stream that resumed from an id this node had not reached yet. */
  private due(stream: SseStream, id: number): boolean {
    const after = this.ahead.get(stream);
    if (after === undefined) return true;
    if (id <= after) return false;
    this.ahead.delete(stream);
    return true;
  }

  /**
   * Starts a stream: the events after `lastEventId` that are still kept (and, when some are lost,
   * an `Event: ProxyEventsLost` notice first, without an id), then every new one.
   */
  open(stream: SseStream, lastEventId: number | undefined): void {
    if (lastEventId !== undefined && this.clustered && lastEventId > this.replay.lastId && lastEventId - this.replay.lastId <= AHEAD_MAX) {
      // Cluster mode: the client comes from a node a little further along the same stream; it
      // gets what follows its id as this node catches up.
      this.ahead.set(stream, lastEventId);
    } else if (lastEventId !== undefined) {
      const { entries, missed, unknown } = this.replay.after(lastEventId);
      if (unknown || missed > 0) {
        const notice: AmiMessage = {
          headers: [
            ['Event', 'ProxyEventsLost'],
            ['Privilege', 'system,all'],
            ['LastEventID', String(lastEventId)],
            ['Missed', unknown ? 'unknown' : String(missed)],
            ['NextEventID', String(unknown ? this.replay.lastId + 1 : (entries[0]?.id ?? this.replay.lastId + 1))],
          ],
        };
        stream.write(sseFrame(undefined, this.json.encode(notice)));
      }
      for (const { item } of entries) if (stream.offer(item)) this.counters.eventsStreamed++;
    }
    this.streams.add(stream);
  }

  close(stream: SseStream): void {
    this.streams.delete(stream);
    this.ahead.delete(stream);
  }

}
