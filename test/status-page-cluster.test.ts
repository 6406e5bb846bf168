/**
 * The status page of a cluster node, in a real browser (helpers/browser.ts), against a real
 * nats-server and two amiplex nodes (in this process) in front of two simulated PBXes: the
 * cluster strip names the node, says NATS is connected and lists both nodes; each PBX card
 * names its holder (this node, the other one). nats-server stopped: the page says NATS is
 * unreachable and that this node holds nothing; started again: it recovers. A third node with
 * other [server] sections shows as such. Screenshots in test/artifacts/status-page-cluster*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/clients/http/status-page.js';
import { preferredNode } from '../src/cluster/rendezvous.js';
import { parseConfig } from '../src/config/index.js';
import { startProxy, type RunningProxy } from '../src/daemon.js';
import type { SimulatedPbx } from '../src/sim/index.js';
import { launchBrowser, type TestBrowser } from './helpers/browser.js';
import { startNats, type NatsServer } from './helpers/nats-server.js';
import { fixtureConfigText, startSim, type UserSpec } from './helpers/proxy-fixture.js';

const ARTIFACTS = path.join(packageRoot(), 'test', 'artifacts');
const OPS: UserSpec = { name: 'ops', settings: { status: 'yes' } };
const TTL = 2;
/** Generous: the page refreshes every 2 s, and the machine may be busy. */
const WAIT = { timeout: 20_000 };

let nats: NatsServer | undefined;
const sims: SimulatedPbx[] = [];
const nodes = new Map<string, RunningProxy>();
const logs = new Map<string, string[]>();
let browser: TestBrowser | undefined;

afterAll(async () => {
  await browser?.close();
  await Promise.all([...nodes.values()].map((n) => n.stop().catch(() => undefined)));
  await Promise.all(sims.map((s) => s.stop()));
  await nats?.destroy();
});

/** Two PBX names, the first held by n1 and the second by n2 once both run (rendezvous hashing). */
function splitNames(): [string, string] {
  const candidates = Array.from({ length: 20 }, (_, i) => `pbx${i + 1}`);
  const mine = candidates.find((p) => preferredNode(p, ['n1', 'n2']) === 'n1')!;
  const theirs = candidates.find((p) => preferredNode(p, ['n1', 'n2']) === 'n2')!;
  return [mine, theirs];
}

async function startNode(node: string, servers: ReadonlyArray<{ name: string; port: number }>): Promise<RunningProxy> {
  const text = `${fixtureConfigText(servers, [OPS], { http: '127.0.0.1:0', shutdown_timeout: 1 })}\n[cluster]\nnats = ${nats!.url}\nnode = ${node}\nname = page\nlease_ttl = ${TTL}\n`;
  const lines: string[] = [];
  logs.set(node, lines);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (lines.length < 5000) lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const proxy = await startProxy(parseConfig(text, `${node}.conf`), { log: pino({ level: 'info' }, sink) });
  nodes.set(node, proxy);
  return proxy;
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
const card = (page: Page, server: string) => page.locator(`.card[data-server="${server}"]`);

/** Waits until the card names `holder` (`self`, `other` or `none`) with that text. */
async function holderShows(page: Page, server: string, kind: string, words: string): Promise<void> {
  await card(page, server).locator('dd.holder', { hasText: new RegExp(`^${words.replace(/[()]/g, '\\$&')}$`) }).waitFor(WAIT);
  expect(await card(page, server).getAttribute('data-holder')).toBe(kind);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.mouse.move(0, 0);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name) });
}

describe('the status page of a cluster node', () => {
  it('shows the node, NATS, the nodes and each PBX holder; NATS stopped: unreachable; started: recovered', { timeout: 150_000 }, async () => {
    nats = await startNats();
    const [mine, theirs] = splitNames();
    const servers = [];
    for (const name of [mine, theirs]) {
      const { sim, port } = await startSim({ rate: 2 });
      sims.push(sim);
      servers.push({ name, port });
    }
    const n1 = await startNode('n1', servers);
    await startNode('n2', servers);
    browser = await launchBrowser({ httpCredentials: { username: 'ops', password: 'ops-secret' }, viewport: { width: 1366, height: 768 } });
    const { page, problems } = browser;
    expect((await page.goto(`http://127.0.0.1:${n1.http[0]!.port}/`))?.status()).toBe(200);

    try {
      // The strip: this node, its cluster, NATS connected, both nodes.
      const strip = page.locator('#cluster');
      await strip.waitFor({ state: 'visible', ...WAIT });
      expect(await text(page, '#cluster-node')).toBe('n1');
      expect(await text(page, '#cluster-name')).toBe('page');
      await page.locator('#cluster-nats[data-state="connected"]').waitFor(WAIT);
      expect(await text(page, '#cluster-nats-label')).toBe('NATS connected');
      expect(await text(page, '#cluster-nats-detail')).toMatch(new RegExp(`^to 127\\.0\\.0\\.1:${nats.port} since \\d\\d:\\d\\d:\\d\\d$`));
      expect(await strip.getAttribute('data-level')).toBe('ok');
      await page.locator('#cluster-nodes .chip[data-node="n2"]').waitFor(WAIT);
      expect(await page.locator('#cluster-nodes .chip').allTextContents()).toEqual(['n1 (this node)', 'n2']);
      expect(await text(page, '#cluster-node-count')).toBe('2 nodes');
      expect(await page.locator('#cluster-nodes .chip[data-mismatch]').count()).toBe(0);
      expect(await page.title()).toBe('amiplex n1 · status');

      // Each card names its holder: n1 itself for one PBX, n2 for the other; as n1's hub has it.
      await holderShows(page, mine, 'self', 'this node');
      await holderShows(page, theirs, 'other', 'n2');
      expect(n1.hub.clusterStatus()?.holders).toEqual({ [mine]: 'n1', [theirs]: 'n2' });
      await card(page, theirs).locator('.state', { hasText: /^up$/ }).waitFor(WAIT);
      await page.locator('#cluster-held', { hasText: /^holds 1 of 2 PBXes$/ }).waitFor(WAIT);
      expect(problems).toEqual([]);

      // NATS stopped: once its PBX lease has run out, n1 says NATS is unreachable and it holds nothing.
      await nats.stop();
      await page.locator('#cluster-nats[data-state="unreachable"]').waitFor(WAIT);
      expect(await text(page, '#cluster-nats-label')).toBe('NATS unreachable');
      expect(await text(page, '#cluster-nats-detail')).toMatch(new RegExp(`^since \\d\\d:\\d\\d:\\d\\d \\(for [^)]+\\) · retrying 127\\.0\\.0\\.1:${nats.port} · other nodes as last seen$`));
      expect(await strip.getAttribute('data-level')).toBe('down');
      await holderShows(page, mine, 'none', 'no node');
      // What n1 shows of n2's PBX is only what n2 last reported, and says so.
      await holderShows(page, theirs, 'other', 'n2 (last seen)');
      expect(await card(page, theirs).getAttribute('data-stale')).not.toBeNull();
      expect(await text(page, `.card[data-server="${theirs}"] .note`)).toMatch(/^as node n2 last reported it: NATS is not connected/);
      await page.locator('#cluster-held', { hasText: /^holds 0 of 2 PBXes$/ }).waitFor(WAIT);
      await page.locator('#cluster-no-nodes', { hasText: /^none seen$/ }).waitFor(WAIT);
      expect(await text(page, '#cluster-node-count')).toBe('0 nodes');
      await screenshot(page, 'status-page-cluster-unreachable.png');

      // Started again: connected, both nodes back, each PBX held again.
      await nats.start();
      await page.locator('#cluster-nats[data-state="connected"]').waitFor({ timeout: 30_000 });
      expect(await strip.getAttribute('data-level')).toBe('ok');
      await page.locator('#cluster-nodes .chip[data-node="n2"]').waitFor({ timeout: 30_000 });
      await holderShows(page, mine, 'self', 'this node');
      await holderShows(page, theirs, 'other', 'n2');
      expect(await page.locator('#cluster-no-nodes').isVisible()).toBe(false);
      expect(await card(page, theirs).getAttribute('data-stale')).toBeNull();

      // A node with other [server] sections: listed in red, with what differs.
      await startNode('n3', [{ name: 'elsewhere', port: servers[0]!.port }]);
      const odd = page.locator('#cluster-nodes .chip[data-node="n3"]');
      await odd.waitFor(WAIT);
      expect(await odd.getAttribute('data-mismatch')).not.toBeNull();
      const [a, b] = [mine, theirs].sort();
      expect(await odd.textContent()).toBe(`n3: other servers, has elsewhere · lacks ${a}, ${b}`);
      expect(await odd.getAttribute('title')).toContain('Every node of a cluster must have the same');
      expect(await page.locator('#cluster-nodes .chip[data-node="n2"]').getAttribute('data-mismatch')).toBeNull();
      expect(await text(page, '#cluster-node-count')).toBe('3 nodes');
      await page.waitForTimeout(2200); // one more refresh: the rates and the uptimes filled in
      await screenshot(page, 'status-page-cluster.png');
      expect(problems).toEqual([]);
    } catch (err) {
      const tail = [...logs].map(([n, lines]) => `--- ${n}\n${lines.slice(-25).join('')}`).join('\n');
      throw new Error(`${(err as Error).message}\n${tail}`, { cause: err });
    }
  });
});
