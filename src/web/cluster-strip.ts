/**
 * The status page's cluster strip, under the header, shown only when amiplex runs with a
 * [cluster] section: this node's name, its NATS connection (green, amber, red), how many PBXes
 * it holds, and the nodes it sees, those whose [server] sections differ from this node's in red.
 * The words come from cluster-words.ts; nothing is rebuilt that did not change.
 */
import { heldHere, natsWords, nodeWords } from './cluster-words.js';
import { byId, el, setText } from './dom.js';
import type { ClusterReport } from './types.js';

export class ClusterStrip {
  private readonly root = byId('cluster');
  private readonly nats = byId('cluster-nats');
  private readonly chips = new Map<string, HTMLElement>();
  private readonly baseTitle = document.title;

  /** `now`: amiplex's clock (ms since the epoch); `mine`: this node's PBXes. */
  render(c: ClusterReport | undefined, now: number, mine: readonly string[]): void {
    this.root.hidden = c === undefined;
    const title = c === undefined ? this.baseTitle : `amiplex ${c.node} · status`;
    if (document.title !== title) document.title = title;
    if (c === undefined) return;
    setText(byId('cluster-node'), c.node);
    setText(byId('cluster-name'), c.cluster);

    const words = natsWords(c, now);
    this.root.dataset.level = words.level;
    this.nats.dataset.state = words.state;
    setText(byId('cluster-nats-label'), words.label);
    const detail = byId('cluster-nats-detail');
    setText(detail, words.detail);
    detail.title = words.detail;

    const held = heldHere(c);
    const total = Object.keys(c.holders).length;
    setText(byId('cluster-held'), `holds ${held} of ${total} PBX${total === 1 ? '' : 'es'}`);

    const box = byId('cluster-nodes');
    const seen = new Set<string>();
    const ordered: HTMLElement[] = [];
    for (const n of c.nodes) {
      seen.add(n.name);
      let chip = this.chips.get(n.name);
      if (chip === undefined) {
        chip = el('span', { className: 'chip', attrs: { 'data-node': n.name } });
        this.chips.set(n.name, chip);
      }
      const w = nodeWords(n, mine);
      setText(chip, w.text);
      chip.title = w.title;
      chip.toggleAttribute('data-self', n.self);
      chip.toggleAttribute('data-mismatch', n.mismatch && !n.self);
      ordered.push(chip);
    }
    for (const name of [...this.chips.keys()]) if (!seen.has(name)) this.chips.delete(name);
    const current = Array.from(box.children);
    if (current.length !== ordered.length || ordered.some((chip, i) => current[i] !== chip)) box.replaceChildren(...ordered);
    setText(byId('cluster-node-count'), `${c.nodes.length} node${c.nodes.length === 1 ? '' : 's'}`);
    box.title = c.nodes.map((n) => nodeWords(n, mine).text).join('\n');
    const none = byId('cluster-no-nodes');
    none.hidden = c.nodes.length > 0;
    setText(none, c.nats === 'connected' ? 'registering…' : 'none seen');
    none.title = c.nats === 'connected' ? '' : 'Nodes are seen through NATS: none while it is not connected';
  }
}
