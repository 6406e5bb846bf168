/**
 * amiplex's memory: its RSS with no client, then with many idle logged-in clients (events on,
 * the PBX sending nothing), each read inside the amiplex child after a full GC and a settle period.
 */
import { mb } from './numbers.js';
import type { MemoryReport } from './protocol.js';
import { openCountingClients } from './raw-clients.js';
import { startTarget, type Log, type Scope, type Settings } from './setup.js';

export interface RssResult {
  readonly idle: MemoryReport;
  readonly loaded: MemoryReport;
  readonly clients: number;
}

export async function memory(scope: Scope, s: Settings, log: Log): Promise<RssResult> {
  const t = await startTarget(scope, 'amiplex', 0, s, 'rss', ['--expose-gc']);
  const proxy = t.proxy!;
  const idle = await proxy.request<MemoryReport>('memory', s.rssSettleMs);
  scope.track(await openCountingClients(t.port, t.credentials, s.rssClients));
  const loaded = await proxy.request<MemoryReport>('memory', s.rssSettleMs);
  if (loaded.clients !== s.rssClients) throw new Error(`amiplex holds ${loaded.clients} clients, not ${s.rssClients}`);
  log(`  amiplex RSS: ${mb(idle.rss)} MB with no client, ${mb(loaded.rss)} MB with ${s.rssClients} (JS heap ${mb(loaded.heapUsed)} MB)`);
  await scope.release();
  return { idle, loaded, clients: s.rssClients };
}
