/**
 * What the status page says of the cluster, in words an operator reads at a glance: this node's
 * link to NATS, who holds a PBX, how another node's [server] sections differ from this node's.
 * Pure (no DOM): test/status-page-cluster-words.test.ts checks it in Node.
 *
 * NATS down for less than a lease TTL reads "reconnecting" (amber): the node still serves what
 * it holds. Past a TTL it reads "unreachable" (red): by then the node has closed the AMI sessions
 * of its PBXes (at ¾ of the TTL, see docs/cluster.md), and what it shows of other nodes is only
 * what it saw last.
 */
import { clock, formatDuration } from './format.js';
import type { ClusterNodeReport, ClusterReport } from './types.js';

/** `ok` green, `warn` amber, `down` red. */
export type Level = 'ok' | 'warn' | 'down';

export interface NatsWords {
  readonly level: Level;
  /** What the page tells apart (and tests look for). */
  readonly state: 'connected' | 'connecting' | 'reconnecting' | 'unreachable' | 'closed';
  readonly label: string;
  readonly detail: string;
}

/** This node's NATS connection, `now` being amiplex's clock (ms since the epoch). */
export function natsWords(c: ClusterReport, now: number): NatsWords {
  const since = clock(new Date(c.natsSince));
  const forS = Math.max(0, Math.floor((now - c.natsSince) / 1000));
  const server = c.natsServer ?? 'NATS';
  const long = forS >= c.leaseTtl;
  switch (c.nats) {
    case 'connected':
      return { level: 'ok', state: 'connected', label: 'NATS connected', detail: `to ${server} since ${since}` };
    case 'connecting':
      if (!long) return { level: 'warn', state: 'connecting', label: 'NATS connecting…', detail: `to ${server} for ${formatDuration(forS)}` };
      return { level: 'down', state: 'unreachable', label: 'NATS unreachable', detail: `since ${since} (for ${formatDuration(forS)}) · retrying ${server} · no PBX held until it answers` };
    case 'disconnected':
      if (!long) return { level: 'warn', state: 'reconnecting', label: 'NATS reconnecting…', detail: `lost ${server} at ${since} (${formatDuration(forS)} ago) · ${keeping(c)}` };
      return { level: 'down', state: 'unreachable', label: 'NATS unreachable', detail: `since ${since} (for ${formatDuration(forS)}) · retrying ${server} · other nodes as last seen` };
    case 'closed':
      return { level: 'down', state: 'closed', label: 'NATS connection closed', detail: `at ${since}, for good: this node does not retry (its log says why) · restart it` };
    default:
      return { level: 'warn', state: 'connecting', label: `NATS ${String(c.nats)}`, detail: `since ${since}` };
  }
}

/** The PBXes this node holds. */
export function heldHere(c: ClusterReport): number {
  return Object.values(c.holders).filter((n) => n === c.node).length;
}

/** While reconnecting: what happens to the PBXes this node holds. */
function keeping(c: ClusterReport): string {
  const n = heldHere(c);
  if (n === 0) return 'no PBX held here';
  return `${n === 1 ? 'its PBX is' : `its ${n} PBXes are`} served until ${n === 1 ? 'its lease runs' : 'their leases run'} out`;
}

export interface HolderWords {
  readonly kind: 'self' | 'other' | 'none';
  readonly text: string;
  readonly title: string;
  /** Held by another node while NATS is not connected: its state is what that node last reported. */
  readonly stale: boolean;
}

/** Who holds a PBX (its `node` in status.json). */
export function holderWords(node: string | undefined, c: ClusterReport): HolderWords {
  if (node === undefined || node === '') {
    return { kind: 'none', text: 'no node', title: 'No node holds this PBX now: no AMI session to it until a node takes it', stale: false };
  }
  if (node === c.node) return { kind: 'self', text: 'this node', title: `This node (${node}) holds the AMI session to this PBX`, stale: false };
  if (c.nats !== 'connected') {
    return { kind: 'other', text: `${node} (last seen)`, title: `Node ${node} held it when NATS was last reachable; this node cannot tell now`, stale: true };
  }
  return { kind: 'other', text: node, title: `Node ${node} holds the AMI session to this PBX; this node serves it to its clients through NATS`, stale: false };
}

export interface NodeWords {
  readonly text: string;
  readonly title: string;
}

const LISTED = 3;

/** A node of the cluster, and how its [server] sections differ from `mine` (this node's PBXes). */
export function nodeWords(n: ClusterNodeReport, mine: readonly string[]): NodeWords {
  if (n.self) return { text: `${n.name} (this node)`, title: `This node: ${list(n.servers, Infinity) || 'no PBX'}` };
  if (!n.mismatch) return { text: n.name, title: `Node ${n.name}: the same [server] sections as this node` };
  const has = n.servers.filter((s) => !mine.includes(s));
  const lacks = mine.filter((s) => !n.servers.includes(s));
  const diff = (max: number) => {
    const parts: string[] = [];
    if (has.length > 0) parts.push(`has ${list(has, max)}`);
    if (lacks.length > 0) parts.push(`lacks ${list(lacks, max)}`);
    return parts.length === 0 ? 'same names, other settings' : parts.join(' · ');
  };
  return {
    text: `${n.name}: other servers, ${diff(LISTED)}`,
    title: `Node ${n.name}'s [server] sections differ from this node's (${diff(Infinity)}). Every node of a cluster must have the same; PBXes only some nodes know are held by those nodes.`,
  };
}

function list(names: readonly string[], max: number): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
