/**
 * Background call traffic: a stream of realistic calls between PJSIP endpoints 1000–1199
 * (some placed through Local channels, some busy, some unanswered), run by its own call
 * engine on a virtual clock. Calls advance on that clock; their events queue up in a ready
 * FIFO, and the FIFO is drained at exactly the configured rate by one 10 ms tick, so the rate
 * is honoured whatever the mix of calls. In flood mode the PBX asks for batches instead and
 * the virtual clock jumps ahead as far as needed, so there is no time limit on generation.
 */
import { CallEngine, silentTracker, type EndpointBehaviour } from './call-engine.js';
import type { ChannelTable, IdSource } from './channels.js';
import type { SimEvent } from './event-shapes.js';
import { TaskHeap, type TaskHandle, type Timeline } from './timeline.js';

const TICK_MS = 10;
/** In flood mode, at most this many calls are in progress at once. */
const FLOOD_CONCURRENCY = 200;

const NAMES = [
  'Alice Martin', 'Bob Dupont', 'Carol Smith', 'Dave Jones', 'Erin Lopez', 'Frank Moreau', 'Grace Kim',
  'Heidi Weber', 'Ivan Petrov', 'Judy Chen', 'Mallory Brown', 'Niaj Patel', 'Olivia Rossi', 'Peggy Olsen',
  'Rupert Gray', 'Sybil Fawlty', 'Trent Walker', 'Victor Hugo', 'Walter White', 'Yara Silva',
];

export interface TrafficDeps {
  readonly channels: ChannelTable;
  readonly ids: IdSource;
  readonly globals: Map<string, string>;
  /** Delivers a batch of events to the sessions. */
  publish(batch: SimEvent[]): void;
  /** Anything a call step throws (a bug): reported, the generator keeps going. */
  onError(err: unknown): void;
  random?: () => number;
}

export class CallTraffic implements Timeline {
  private readonly heap = new TaskHeap();
  private readonly engine: CallEngine;
  private readonly random: () => number;
  /** The virtual clock (epoch ms); never behind the wall clock outside flood mode. */
  private vnow = Date.now();
  private ready: SimEvent[] = [];
  private head = 0;
  private rate = 0;
  private carry = 0;
  private lastTick = 0;
  private timer: NodeJS.Timeout | null = null;
  private flooding = false;
  private running = false;

  constructor(private readonly deps: TrafficDeps) {
    this.random = deps.random ?? Math.random;
    this.engine = new CallEngine({
      timeline: this,
      channels: deps.channels,
      ids: deps.ids,
      globals: deps.globals,
      emit: (e) => this.ready.push(e),
      endpoint: (ext) => this.endpoint(ext),
    });
  }

  // ---- Timeline, for the traffic engine

  nowMs(): number {
    return this.vnow;
  }

  after(ms: number, fn: () => void): TaskHandle {
    return this.heap.push(this.vnow + Math.max(0, ms), fn);
  }

  // ---- control

  /** Starts the tick (the PBX calls this when it starts listening). */
  start(): void {
    this.running = true;
    this.vnow = Math.max(this.vnow, Date.now());
    this.lastTick = Date.now();
    this.arm();
  }

  /** Stops the tick and forgets every call in progress (the PBX crashed). */
  stop(): void {
    this.running = false;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.heap.clear();
    this.ready = [];
    this.head = 0;
    this.carry = 0;
  }

  setRate(eventsPerSecond: number): void {
    if (!Number.isFinite(eventsPerSecond) || eventsPerSecond < 0) throw new RangeError('rate must be a number >= 0');
    this.rate = eventsPerSecond;
    this.carry = 0;
    this.lastTick = Date.now();
    this.arm();
  }

  getRate(): number {
    return this.rate;
  }

  /** Enters or leaves flood mode. Leaving it moves pending call steps back onto the wall clock. */
  setFlood(on: boolean): void {
    if (on === this.flooding) return;
    this.flooding = on;
    if (!on) {
      const now = Date.now();
      if (this.vnow > now) this.heap.shift(now - this.vnow);
      this.vnow = now;
      this.lastTick = now;
      this.carry = 0;
    }
    this.arm();
  }

  /** Flood mode: `n` events (more or less one whole step), generating calls as needed. */
  produce(n: number): SimEvent[] {
    let guard = 0;
    while (this.pending < n && guard++ < n * 4) {
      const due = this.heap.peekDue();
      if (due !== Infinity && (due <= this.vnow || this.deps.channels.activeCalls >= FLOOD_CONCURRENCY)) {
        if (due > this.vnow) this.vnow = due;
        this.runDue();
      } else {
        this.startCall();
      }
    }
    return this.take(this.pending);
  }

  // ---- internals

  private get pending(): number {
    return this.ready.length - this.head;
  }

  private take(n: number): SimEvent[] {
    const end = this.head + Math.min(n, this.pending);
    const out = this.ready.slice(this.head, end);
    this.head = end;
    if (this.head === this.ready.length) {
      this.ready = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private runDue(): void {
    try {
      this.heap.runDue(this.vnow);
    } catch (err) {
      this.deps.onError(err);
    }
  }

  /** Whether the tick has work: a rate, or calls still finishing, and not flooding. */
  private get needsTick(): boolean {
    return this.running && !this.flooding && (this.rate > 0 || this.heap.size > 0 || this.pending > 0);
  }

  private arm(): void {
    if (this.needsTick && this.timer === null) {
      this.lastTick = Date.now();
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    } else if (!this.needsTick && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    const now = Date.now();
    if (now > this.vnow) this.vnow = now;
    this.runDue();
    const dt = Math.max(0, now - this.lastTick);
    this.lastTick = now;
    let batch: SimEvent[];
    if (this.rate > 0) {
      // A stalled event loop does not turn into one huge burst: at most a quarter second's worth.
      this.carry = Math.min(this.carry + (this.rate * dt) / 1000, Math.max(1, this.rate / 4));
      const budget = Math.floor(this.carry);
      if (budget <= 0) return;
      let guard = 0;
      while (this.pending < budget && guard++ < budget * 4) this.startCall();
      batch = this.take(budget);
      this.carry -= batch.length;
    } else {
      batch = this.take(this.pending);
    }
    if (batch.length > 0) this.deps.publish(batch);
    this.arm();
  }

  private between(lo: number, hi: number): number {
    return Math.round(lo + this.random() * (hi - lo));
  }

  private extension(): string {
    return String(1000 + Math.floor(this.random() * 200));
  }

  private endpoint(ext: string): EndpointBehaviour {
    const n = Number(ext);
    const exists = /^1\d{3}$/.test(ext) && n < 1200;
    const r = this.random();
    const outcome = r < 0.78 ? 'answer' : r < 0.88 ? 'busy' : 'noanswer';
    return {
      exists,
      outcome,
      ringMs: outcome === 'busy' ? this.between(50, 300) : this.between(1000, 6000),
      talkMs: this.between(3000, 25_000),
      hangupBy: this.random() < 0.5 ? 'callee' : 'caller',
      name: NAMES[n % NAMES.length]!,
    };
  }

  private startCall(): void {
    const from = this.extension();
    let to = this.extension();
    if (to === from) to = String(((Number(to) - 1000 + 1) % 200) + 1000);
    try {
      if (this.random() < 0.8) {
        this.engine.inboundCall(from, to, NAMES[Number(from) % NAMES.length]!, this.between(8000, 20_000));
      } else {
        // Click-to-call: a Local channel whose ;2 rings the extension, ;1 plays for a while.
        this.engine.originate(
          {
            channel: `Local/${to}@from-internal`,
            target: { app: 'Wait', data: String(this.between(3, 20)) },
            timeoutMs: 30_000,
            variables: [],
          },
          silentTracker(),
        );
      }
    } catch (err) {
      this.deps.onError(err);
    }
  }
}
