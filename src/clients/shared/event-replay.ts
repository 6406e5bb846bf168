/**
 * A bounded replay buffer for Server-Sent Events: every event gets the next id of one sequence
 * (1, 2, 3, …), and the last `capacity` events are kept so a client that reconnects with
 * `Last-Event-ID: N` gets every event after N that is still kept — and is told how many it
 * missed when some are gone. Pure: no sockets, no timers.
 *
 * In cluster mode the ids are given: the events' sequence in the cluster's stream, the same on
 * every node, so a client may resume on another node. They follow each other too; one that
 * does not (this node missed part of the stream, or the stream was recreated) starts the
 * buffer over from it, and what came before counts as missed.
 */

export interface Replayed<T> {
  readonly id: number;
  readonly item: T;
}

export interface ReplayResult<T> {
  /** The events after the asked id that are still kept, oldest first. */
  readonly entries: Replayed<T>[];
  /** How many events after the asked id are no longer kept (0: no gap). */
  readonly missed: number;
  /** The asked id was never given out (e.g. by an earlier run of amiplex): nothing can be replayed. */
  readonly unknown: boolean;
}

export class EventReplay<T> {
  private readonly ring: Array<Replayed<T> | undefined>;
  /** Index in `ring` of the oldest kept entry. */
  private head = 0;
  private count = 0;
  private nextId = 1;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError('EventReplay capacity must be an integer >= 0');
    this.ring = new Array<Replayed<T> | undefined>(capacity);
  }

  /** The id of the last event pushed (0 before the first). */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** Events kept. */
  get size(): number {
    return this.count;
  }

  /** Keeps an event (dropping the oldest when full) under `id` (default: the next one); returns it. */
  push(item: T, id = this.nextId): Replayed<T> {
    if (id !== this.nextId) {
      this.head = 0;
      this.count = 0;
      this.nextId = id;
    }
    const entry = { id: this.nextId++, item };
    if (this.capacity === 0) return entry;
    if (this.count < this.capacity) {
      this.ring[(this.head + this.count) % this.capacity] = entry;
      this.count++;
    } else {
      this.ring[this.head] = entry;
      this.head = (this.head + 1) % this.capacity;
    }
    return entry;
  }

  /** Whether every event after `lastId` is kept (nothing missed, nothing unknown). */
  covers(lastId: number): boolean {
    return lastId <= this.lastId && lastId + 1 >= this.nextId - this.count;
  }

  /** Every kept event with an id above `lastId`. */
  after(lastId: number): ReplayResult<T> {
    if (!Number.isSafeInteger(lastId) || lastId < 0 || lastId > this.lastId) return { entries: [], missed: 0, unknown: true };
    const oldestId = this.nextId - this.count;
    const missed = Math.max(0, oldestId - lastId - 1);
    const entries: Replayed<T>[] = [];
    const skip = Math.max(0, lastId + 1 - oldestId);
    for (let i = skip; i < this.count; i++) entries.push(this.ring[(this.head + i) % this.capacity]!);
    return { entries, missed, unknown: false };
  }
}
