/**
 * Events through the cluster's JetStream stream. The holder of a PBX publishes each of its
 * events once (`amiplex.<cluster>.events.<server>`, the AMI bytes as the PBX sent them); every
 * node, the holder included, reads the whole stream in order with an ordered consumer and hands
 * each event to its hub, which fans it out to its clients, encoding once per format as always.
 * The stream's sequence number travels with the event: it is the SSE event id on every node.
 *
 * While NATS is unreachable the holder keeps its PBXes' events (up to BUFFER_MAX) and publishes
 * them when NATS is back, for the PBXes it still holds: a short outage delays events, loses none.
 *
 * The stream is also the events' history (EventHistory): a client resuming from an id older than
 * its node's replay buffer reads what it missed from there, by sequence.
 */
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy, DiscardPolicy, StorageType, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { AmiMessage } from '../ami/message.js';
import type { EventHistory, HistoryEvent } from '../clients/shared/event-history.js';
import type { Hub } from '../hub.js';
import type { Logger } from '../log.js';
import { PayloadReader, toPayload } from './ami-payload.js';
import type { ClusterNames } from './names.js';

/** Events a holder keeps while NATS is unreachable, all its PBXes together. */
export const BUFFER_MAX = 100_000;
/** How long the stream keeps events: enough for a node cut off for a while to catch up. */
export const STREAM_MAX_AGE_S = 300;
export const STREAM_MAX_BYTES = 1024 ** 3;

/** How long reading the history waits for a batch that does not come whole (events aged out meanwhile). */
const HISTORY_WAIT_MS = 2000;
/** How long one read of the history may take in all. */
const HISTORY_TIMEOUT_MS = 5000;

/** Header of an event that already reached one client as a reply (OriginateResponse, UserEvent): `NODE/CLIENT-ID`. */
const EXCEPT = 'Amiplex-Except';
/** Header of an event the publishing node's clients were given already (while NATS was unreachable): that node. */
const SHOWN = 'Amiplex-Shown';

/** The raw client an event must skip: on which node, and its id there. */
export interface Except {
  readonly node: string;
  readonly id: number;
}

interface Held {
  readonly server: string;
  readonly payload: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

export class EventBus implements EventHistory {
  private nc: NatsConnection | undefined;
  private connected = false;
  private buffer: Held[] = [];
  private bufferDropped = 0;
  private consumer: ConsumerMessages | undefined;
  private readonly reader = new PayloadReader();
  /** The last stream sequence delivered to the hub. */
  lastSeq = 0;
  published = 0;
  received = 0;

  constructor(
    private readonly hub: Hub,
    private readonly names: ClusterNames,
    private readonly node: string,
    private readonly log: Logger,
  ) {}

  /** Creates (or updates) the stream; NATS is reachable. */
  async ensureStream(nc: NatsConnection): Promise<void> {
    const jsm = await jetstreamManager(nc);
    const config = {
      name: this.names.stream,
      subjects: [`${this.names.eventsPrefix}>`],
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: STREAM_MAX_AGE_S * 1e9,
      max_bytes: STREAM_MAX_BYTES,
      duplicate_window: 1e9,
    };
    try {
      await jsm.streams.info(this.names.stream);
      await jsm.streams.update(this.names.stream, config);
    } catch {
      await jsm.streams.add(config);
    }
  }

  /** Starts reading the stream from its end (the node's clients get what is published from now on). */
  async start(nc: NatsConnection): Promise<void> {
    this.nc = nc;
    this.connected = true;
    const js = jetstream(nc);
    const consumer = await js.consumers.get(this.names.stream, {
      filter_subjects: `${this.names.eventsPrefix}>`,
      deliver_policy: DeliverPolicy.New,
    });
    this.consumer = await consumer.consume({ max_messages: 1000, callback: (m) => this.deliver(m) });
  }

  private deliver(m: JsMsg): void {
    const server = m.subject.slice(this.names.eventsPrefix.length);
    const event = this.reader.read(m.data);
    this.lastSeq = m.seq;
    this.received++;
    if (event === undefined) {
      this.log.warn({ server, seq: m.seq }, 'cluster: an event in the stream is not an AMI message: skipped');
      return;
    }
    if (m.headers?.get(SHOWN) === this.node) return;
    let except: number | undefined;
    const skip = m.headers?.get(EXCEPT);
    if (skip) {
      const slash = skip.lastIndexOf('/');
      if (skip.slice(0, slash) === this.node) except = Number(skip.slice(slash + 1));
    }
    this.hub.deliverClusterEvent(server, event, m.seq, except);
  }

  /** An event of a PBX this node holds; `shownHere`: this node's clients have it already. */
  publish(server: string, event: AmiMessage, except: Except | undefined, shownHere = false): void {
    let headers: MsgHdrs | undefined;
    if (except !== undefined || shownHere) {
      headers = natsHeaders();
      if (except !== undefined) headers.set(EXCEPT, `${except.node}/${except.id}`);
      if (shownHere) headers.set(SHOWN, this.node);
    }
    const payload = toPayload(event);
    if (this.connected && this.nc !== undefined) {
      this.nc.publish(this.names.events(server), payload, headers === undefined ? undefined : { headers });
      this.published++;
      return;
    }
    if (this.buffer.length >= BUFFER_MAX) {
      this.buffer.shift();
      this.bufferDropped++;
    }
    this.buffer.push({ server, payload, headers });
  }

  bounds(): Promise<{ first: number; last: number }> {
    return this.bounded('bounds', async (nc) => {
      const { state } = await (await jetstreamManager(nc)).streams.info(this.names.stream);
      return { first: state.first_seq, last: state.last_seq };
    });
  }

  read(from: number, to: number): Promise<HistoryEvent[]> {
    return this.bounded('read', async (nc) => {
      const events: HistoryEvent[] = [];
      if (to < from) return events;
      // An ordered consumer of its own, from that sequence: it goes away by itself once read.
      const consumer = await jetstream(nc).consumers.get(this.names.stream, {
        filter_subjects: `${this.names.eventsPrefix}>`,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      });
      const messages = await consumer.fetch({ max_messages: to - from + 1, expires: HISTORY_WAIT_MS });
      for await (const m of messages) {
        if (m.seq > to) break;
        const event = this.reader.read(m.data);
        if (event !== undefined) events.push({ seq: m.seq, server: m.subject.slice(this.names.eventsPrefix.length), event });
        if (m.seq === to) break;
      }
      messages.stop();
      return events;
    });
  }

  /** A read of the history, given up (and logged) when NATS is not connected or does not answer in time: a resuming client is never left waiting. */
  private async bounded<T>(what: string, run: (nc: NatsConnection) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!this.connected || this.nc === undefined) throw new Error('NATS is not connected');
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from NATS within ${HISTORY_TIMEOUT_MS} ms`)), HISTORY_TIMEOUT_MS);
      });
      return await Promise.race([run(this.nc), limit]);
    } catch (err) {
      this.log.warn({ err: String(err), what }, 'cluster: reading the event stream for a resuming client failed: it is told what is lost');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** NATS is unreachable: keep events until it is back. */
  disconnected(): void {
    this.connected = false;
  }

  /**
   * NATS is back: publish what was kept, in order, for the PBXes this node still holds (the
   * others were taken over meanwhile: their events would come after the new holder's).
   */
  reconnected(stillHeld: (server: string) => boolean): void {
    this.connected = true;
    const kept = this.buffer;
    this.buffer = [];
    let sent = 0;
    for (const h of kept) {
      if (!stillHeld(h.server)) continue;
      this.nc?.publish(this.names.events(h.server), h.payload, h.headers === undefined ? undefined : { headers: h.headers });
      sent++;
    }
    if (kept.length > 0 || this.bufferDropped > 0) {
      this.log.info({ published: sent, discarded: kept.length - sent, overflowed: this.bufferDropped }, 'cluster: events kept while NATS was unreachable published');
    }
    this.bufferDropped = 0;
  }

  stop(): void {
    this.consumer?.stop();
    this.consumer = undefined;
  }
}
