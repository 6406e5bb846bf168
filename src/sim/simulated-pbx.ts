/**
 * A simulated Asterisk 22 AMI server: the TCP listener, the sessions, the event fan-out, the
 * call engine for Originate and the background traffic generator, and the lifecycle
 * (start, crash-like stop, start again on the same port).
 *
 * Fan-out encodes once: events are queued and, at the end of the current turn (or before any
 * response is written), encoded into one Buffer per distinct event-class mask and the same
 * Buffer is written to every session with that mask.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { encodeBanner } from '../ami/encoder.js';
import { dispatch } from './actions.js';
import { CallEngine, type EndpointBehaviour } from './call-engine.js';
import { CallTraffic } from './call-traffic.js';
import { ChannelTable, IdSource } from './channels.js';
import type { SimEvent } from './event-shapes.js';
import { resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options.js';
import { admits } from './permissions.js';
import { SimSession, type SessionHost, type SessionInput } from './sim-session.js';
import { RealTimeline } from './timeline.js';

/** Events per flood batch; batches repeat while every session is under the high-water mark. */
const FLOOD_BATCH = 256;
const FLOOD_BATCHES_PER_TURN = 16;

export interface SimStats {
  eventsGenerated: number;
  actions: number;
  logins: number;
  /** The most connections open at once so far (a PBX behind an amiplex cluster must never see two). */
  peakSessions: number;
}

/** PBX endpoints called by Originate: PJSIP/1000–1999 exist and answer after a second. */
function originateEndpoint(ext: string): EndpointBehaviour {
  return {
    exists: /^1\d{3}$/.test(ext),
    outcome: 'answer',
    ringMs: 1000,
    talkMs: null,
    hangupBy: 'callee',
    name: `Phone ${ext}`,
  };
}

export class SimulatedPbx {
  // The fields below up to `stats` are the simulator's own wiring (actions, CLI and tests use them).
  readonly options: ResolvedOptions;
  readonly channels = new ChannelTable();
  readonly ids = new IdSource();
  readonly globals = new Map<string, string>();
  readonly timeline: RealTimeline;
  /** Runs the calls Originate starts (wall clock). */
  readonly engine: CallEngine;
  readonly stats: SimStats = { eventsGenerated: 0, actions: 0, logins: 0, peakSessions: 0 };
  /** When the PBX (re)started and last reloaded, epoch ms. */
  startedMs = Date.now();
  reloadedMs = Date.now();

  private readonly sessions = new Set<SimSession>();
  private readonly traffic: CallTraffic;
  private readonly banner: Buffer;
  private readonly host: SessionHost;
  private server: Server | null = null;
  private starting: Promise<{ host: string; port: number }> | null = null;
  private boundPort: number;
  private outbox: SimEvent[] = [];
  private flushQueued = false;
  private flooding = false;
  private floodScheduled = false;
  private floodTimer: NodeJS.Timeout | null = null;
  private readonly errors: unknown[] = [];

  constructor(opts?: SimulatorOptions) {
    this.options = resolveOptions(opts);
    this.boundPort = this.options.port;
    this.banner = encodeBanner(this.options.amiVersion);
    const onError = (err: unknown): void => this.reportError(err);
    this.timeline = new RealTimeline(onError);
    this.engine = new CallEngine({
      timeline: this.timeline,
      channels: this.channels,
      ids: this.ids,
      globals: this.globals,
      emit: (e) => this.emit(e),
      endpoint: originateEndpoint,
    });
    this.traffic = new CallTraffic({
      channels: this.channels,
      ids: this.ids,
      globals: this.globals,
      publish: (batch) => this.publish(batch),
      onError,
    });
    this.traffic.setRate(this.options.rate);
    this.host = {
      authTimeoutMs: this.options.authTimeoutMs,
      handle: (session: SimSession, input: SessionInput) => dispatch(this, session, input),
      flushEvents: () => this.flushEvents(),
      closed: (session) => {
        this.sessions.delete(session);
      },
      onError,
    };
  }

  // ---------------------------------------------------------------- lifecycle

  get address(): { host: string; port: number } {
    return { host: this.options.host, port: this.boundPort };
  }

  /** Open sessions (logged in or not). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The open sessions, oldest first. */
  sessionList(): SimSession[] {
    return [...this.sessions];
  }

  /** Bugs caught inside handlers or call steps (a healthy simulator has none). */
  get internalErrors(): readonly unknown[] {
    return this.errors;
  }

  /** Starts listening; after stop() it listens again on the same port. */
  start(): Promise<{ host: string; port: number }> {
    if (this.server !== null) return Promise.resolve(this.address);
    this.starting ??= this.listen().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async listen(): Promise<{ host: string; port: number }> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ host: this.options.host, port: this.boundPort, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.reportError(err));
    const addr = server.address();
    if (addr !== null && typeof addr === 'object') this.boundPort = addr.port;
    this.server = server;
    this.startedMs = this.reloadedMs = Date.now();
    this.traffic.start();
    if (this.flooding) this.scheduleFlood(0);
    return this.address;
  }

  /** Like a PBX crash: stop listening and drop every session and call at once. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.traffic.stop();
    this.timeline.clear();
    if (this.floodTimer !== null) clearTimeout(this.floodTimer);
    this.floodTimer = null;
    this.floodScheduled = false;
    this.outbox = [];
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    this.channels.clear();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Background call traffic, in events per second (0 = none). */
  setRate(eventsPerSecond: number): void {
    this.traffic.setRate(eventsPerSecond);
  }

  /**
   * Generates call traffic as fast as the sessions read it: batches keep coming while every
   * receiving session has less than the high-water mark unsent, and pause until it drains.
   */
  flood(on: boolean): void {
    if (on === this.flooding) return;
    this.flooding = on;
    this.traffic.setFlood(on);
    if (on) this.scheduleFlood(0);
    else if (this.floodTimer !== null) {
      clearTimeout(this.floodTimer);
      this.floodTimer = null;
      this.floodScheduled = false;
    }
  }

  private accept(socket: Socket): void {
    if (this.server === null) {
      socket.destroy();
      return;
    }
    const session = new SimSession(socket, this.host);
    this.sessions.add(session);
    if (this.sessions.size > this.stats.peakSessions) this.stats.peakSessions = this.sessions.size;
    socket.write(this.banner);
  }

  private reportError(err: unknown): void {
    if (this.errors.length < 100) this.errors.push(err);
  }

  // ---------------------------------------------------------------- events

  /** Queues an event for every session allowed to see it (written at the end of this turn). */
  emit(event: SimEvent): void {
    this.outbox.push(event);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushEvents());
    }
  }

  /** Writes out the queued events now. */
  flushEvents(): void {
    this.flushQueued = false;
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    this.publish(batch);
  }

  /** Delivers a batch: encoded once per distinct class mask, the same Buffer for every session. */
  publish(batch: readonly SimEvent[]): void {
    if (batch.length === 0) return;
    this.stats.eventsGenerated += batch.length;
    let union = 0;
    for (const e of batch) union |= e.cat;
    const byMask = new Map<number, Buffer | null>();
    for (const s of this.sessions) {
      const mask = s.eventClasses;
      if (mask === 0) continue;
      let buf: Buffer | null | undefined;
      if (s.filters !== null) {
        buf = encodeFiltered(batch, mask, s);
      } else {
        buf = byMask.get(mask);
        if (buf === undefined) {
          buf = encodeFor(batch, mask, union);
          byMask.set(mask, buf);
        }
      }
      if (buf !== null) s.deliver(buf);
    }
  }

  // ---------------------------------------------------------------- flood

  private scheduleFlood(delayMs: number): void {
    if (this.floodScheduled || !this.flooding || this.server === null) return;
    this.floodScheduled = true;
    const run = (): void => {
      this.floodTimer = null;
      this.floodScheduled = false;
      this.floodStep();
    };
    if (delayMs > 0) this.floodTimer = setTimeout(run, delayMs);
    else setImmediate(run);
  }

  private floodStep(): void {
    if (!this.flooding || this.server === null) return;
    const hwm = this.options.floodHighWaterMark;
    for (let i = 0; i < FLOOD_BATCHES_PER_TURN; i++) {
      let receivers = 0;
      let blocked: SimSession | null = null;
      for (const s of this.sessions) {
        if (s.eventClasses === 0) continue;
        receivers++;
        if (s.backlog >= hwm) {
          blocked = s;
          break;
        }
      }
      if (receivers === 0) {
        this.scheduleFlood(20); // nobody to send to: look again shortly
        return;
      }
      if (blocked !== null) {
        // Resume on its drain; poll too, since held events (a blocked session) drain no socket.
        const session = blocked;
        let resumed = false;
        const resume = (): void => {
          if (resumed) return;
          resumed = true;
          session.socket.off('drain', resume);
          session.socket.off('close', resume);
          if (this.floodTimer !== null) clearTimeout(this.floodTimer);
          this.floodTimer = null;
          this.floodScheduled = false;
          this.scheduleFlood(0);
        };
        session.socket.once('drain', resume);
        session.socket.once('close', resume);
        this.floodScheduled = true;
        this.floodTimer = setTimeout(resume, 25);
        return;
      }
      this.publish(this.traffic.produce(FLOOD_BATCH));
    }
    this.scheduleFlood(0);
  }
}

function encodeFor(batch: readonly SimEvent[], mask: number, union: number): Buffer | null {
  let text = '';
  if ((mask & union) === union) {
    // Every class in the batch is inside the mask: every event passes.
    for (const e of batch) text += e.text;
  } else {
    for (const e of batch) if (admits(mask, e.cat)) text += e.text;
  }
  return text === '' ? null : Buffer.from(text, 'latin1');
}

function encodeFiltered(batch: readonly SimEvent[], mask: number, s: SimSession): Buffer | null {
  const f = s.filters!;
  let text = '';
  for (const e of batch) {
    if (!admits(mask, e.cat)) continue;
    if (f.include.length > 0 && !f.include.some((r) => r.test(e.text))) continue;
    if (f.exclude.some((r) => r.test(e.text))) continue;
    text += e.text;
  }
  return text === '' ? null : Buffer.from(text, 'latin1');
}
