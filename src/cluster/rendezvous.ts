/**
 * Rendezvous (highest random weight) hashing: which node should hold a PBX. Every node works
 * it out alone from the same inputs (the live nodes that know the PBX) and gets the same
 * answer; when a node joins or leaves, only the PBXes it wins or held change hands. Pure.
 */
import { createHash } from 'node:crypto';

const scores = new Map<string, number>();

/** The weight of `node` for `server`: 48 bits of SHA-256 over both names. */
export function weight(node: string, server: string): number {
  const key = `${node}\u0000${server}`;
  let w = scores.get(key);
  if (w === undefined) {
    w = createHash('sha256').update(key).digest().readUIntBE(0, 6);
    if (scores.size > 100_000) scores.clear();
    scores.set(key, w);
  }
  return w;
}

/** The node that should hold `server`: the one of highest weight (ties: the smaller name); undefined when there is none. */
export function preferredNode(server: string, nodes: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = weight(node, server);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}
