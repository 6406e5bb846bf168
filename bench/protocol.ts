/**
 * What the benchmark's parent and children agree on: command arguments, results, and the
 * marker line. Kept apart from the child scripts so importing it starts nothing.
 */
import type { CpuReading } from './ipc.js';

export interface SimStart {
  /** Background call traffic, events per second (0 = none). */
  readonly rate: number;
  /** The port to listen on (default: any free one): a PBX restarted where the last one was. */
  readonly port?: number;
}

export interface SimChildStats {
  readonly eventsGenerated: number;
  readonly sessions: number;
  readonly internalErrors: number;
  readonly rss: number;
  readonly cpu: CpuReading;
}

export interface ProxyStart {
  readonly simPort: number;
  readonly username: string;
  readonly secret: string;
  /** Also an HTTP listener (`http = 127.0.0.1:0`); its port is then asked for with `httpPort`. */
  readonly http?: boolean;
  /** More `[general]` lines (`client_buffer_total = 64M`), as written in proxy.conf. */
  readonly general?: readonly string[];
  /** More lines of the PBX's `[server]` section (`reconnect_max = 1`). */
  readonly server?: readonly string[];
  /** The user's `[user]` lines instead of `secret = …` (a `secret_hash = …`). */
  readonly userLines?: readonly string[];
  /** A node of a cluster: `start` waits until it joined, not for its PBX session (another node may hold it). */
  readonly cluster?: { readonly nats: string; readonly node: string };
}

/** Garbage-collection pauses of one kind: how many, and the longest (ms). */
export interface GcKindStats {
  pauses: number;
  maxMs: number;
}

/** What the bare relay child reports. */
export interface RelayChildStats {
  readonly cpu: CpuReading;
  readonly clients: number;
}

/** Ages of the latency probes inside amiplex (ms): when fanned out to the clients' queues, and when those writes were done. */
export interface ProbeTimes {
  readonly fannedOut: number[];
  readonly written: number[];
}

export interface ProxyChildStats {
  readonly eventsIn: number;
  readonly eventsDelivered: number;
  readonly slowClientsDropped: number;
  /** Raw AMI clients disconnected for a flood of malformed input. */
  readonly floodingClientsDropped: number;
  /** Connections closed at once because authlimit connections were waiting to log in. */
  readonly refusedConnections: number;
  readonly clients: number;
  /** Event-loop delay since the last reset (ms). */
  readonly loopDelayMaxMs: number;
  readonly loopDelayP99Ms: number;
  /** Garbage-collection pauses since the last reset: how many, their sum and the longest (ms). */
  readonly gcPauses: number;
  readonly gcMs: number;
  readonly gcMaxMs: number;
  /** Times reading the PBX waited for clients behind, so far (amiplex_server_read_holds_total); clients behind now. */
  readonly readHolds: number;
  readonly clientsBehind: number;
  /** Per kind of collection (minor, major, incremental, weak). */
  readonly gcByKind: Record<string, GcKindStats>;
  /** Bytes accepted for clients and not yet handed to the kernel: the sum, and the largest. */
  readonly bufferedTotal: number;
  readonly bufferedMax: number;
  /** What client_buffer_total counts now (every client kind together). */
  readonly budgetTotal: number;
  readonly upstream: string;
  readonly rss: number;
  readonly heapUsed: number;
  /** Memory outside the JS heap (Buffers and other native objects V8 knows of), and the Buffers' part of it. */
  readonly external: number;
  readonly arrayBuffers: number;
  readonly cpu: CpuReading;
}

export interface MemoryReport {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly clients: number;
  /** Whether global.gc ran before the reading. */
  readonly gc: boolean;
}

/** The line that identifies a marker event; clients look for it to know where a count starts or ends. */
export function markerLine(tag: string): string {
  return `BenchMark: ${tag}\r\n`;
}

/** The line of a latency probe event that carries when it was sent (wall clock, ms). */
export function probeLine(sentAt: string): string {
  return `${PROBE_KEY}: ${sentAt}\r\n`;
}

/** How often the PBX child publishes a latency probe while probes are on, on average (ms; the gaps are random, see sim-child.ts). */
export const PROBE_MS = 20;

/** The header of a probe's send time: clients find it as `SentAt: ` (raw) or `"SentAt":"` (json). */
export const PROBE_KEY = 'BenchSentAt';

/** The wall clock in ms, comparable across the benchmark's processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The proxy user the benchmark's clients log in as. */
export const BENCH_USER = { username: 'bench', secret: 'bench' } as const;
/** The simulated PBX's default full-permission user. */
export const SIM_ADMIN = { username: 'admin', secret: 'admin' } as const;
