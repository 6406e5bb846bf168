/**
 * The history of the events, in cluster mode: the cluster's event stream keeps every event of
 * every PBX for a while (see src/cluster/event-bus.ts), numbered by its sequence, which is the
 * id SSE and WebSocket clients see on every node. A client that resumes from an id older than
 * this node's replay buffer is served from there. Types only: the feed reads it without loading
 * any NATS code.
 */
import type { AmiMessage } from '../../ami/message.js';

/** One event as the stream keeps it. */
export interface HistoryEvent {
  readonly seq: number;
  readonly server: string;
  readonly event: AmiMessage;
}

export interface EventHistory {
  /** The first and last sequence the stream holds now (first > last: it holds none). */
  bounds(): Promise<{ readonly first: number; readonly last: number }>;
  /** The events from sequence `from` to `to` (both included) still held, in order. */
  read(from: number, to: number): Promise<HistoryEvent[]>;
}
