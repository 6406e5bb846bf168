/**
 * One client bursting beside a latency probe: 16,000 pipelined Pings in one write (about
 * 520 KB), then 1,000,000 bare blank lines (2 MB), then 2 MB of random bytes, each from a client
 * of its own, while another client asks ProxyListServers (answered by amiplex alone) every 10 ms.
 * The probe's round trip is the figure; the checks are what each burst must get: every Ping
 * answered once, in order; the blank lines answered at malformed_rate at most and the client
 * disconnected, logged and counted; amiplex still there after the garbage.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { getHeader } from '../../src/ami/message.js';
import type { ProxyChildStats } from '../protocol.js';
import type { Scope } from '../setup.js';
import { check, client, LatencyProbe, ms, quantile, sleep, startAmiplex, startSim, waitFor, type ChaosSettings, type Check, type Log, type ScenarioResult, type Target } from './common.js';

const TARGET_MS = 100;

export async function burstScenario(scope: Scope, s: ChaosSettings, log: Log): Promise<ScenarioResult> {
  const pings = s.short ? 4000 : 16_000;
  const blanks = s.short ? 100_000 : 1_000_000;
  const garbageBytes = s.short ? 256 * 1024 : 2 * 1024 * 1024;
  const rate = 1000;
  const floodTimeoutS = s.short ? 2 : 10;
  const sim = await startSim(scope, s.short ? 50 : 200);
  const amiplex = await startAmiplex(scope, sim.port, { general: [`malformed_rate = ${rate}`, `malformed_timeout = ${floodTimeoutS}`] });
  const probe = new LatencyProbe(await client(amiplex.port, 'probe'));
  const figures: Record<string, number | string> = {};
  const checks: Check[] = [];
  const targets: Target[] = [];
  await sleep(300);
  const idle = probe.between(0, performance.now());
  figures['probe round trip before, p50'] = ms(quantile(idle, 0.5));

  // 1. Pipelined Pings in one write.
  const piper = await client(amiplex.port, 'piper');
  const loopReset = (): Promise<ProxyChildStats> => amiplex.child.request<ProxyChildStats>('stats', true);
  await loopReset();
  const actions = Array.from({ length: pings }, () => [['Action', 'Ping']] as Array<[string, string]>);
  const t0 = performance.now();
  const ids = piper.sendMany(actions);
  await waitFor(() => piper.order.length >= pings || piper.closed, s.short ? 60_000 : 120_000, `answers to ${pings} Pings`);
  const t1 = performance.now();
  const during1 = probe.between(t0, t1);
  const loop1 = (await loopReset()).loopDelayMaxMs;
  log(`  ${pings} pipelined Pings answered in ${(t1 - t0).toFixed(0)} ms; probe max ${ms(Math.max(...during1))}`);
  figures['pipelined Pings (one write)'] = pings;
  figures['their bytes'] = `${Math.round(ids.reduce((n, id) => n + `Action: Ping\r\nActionID: ${id}\r\n\r\n`.length, 0) / 1024)} KiB`;
  figures['all answered in'] = ms(t1 - t0);
  figures['answered with an error'] = piper.errors;
  figures['probe round trip during the Pings, p50 / p99 / max'] = `${ms(quantile(during1, 0.5))} / ${ms(quantile(during1, 0.99))} / ${ms(Math.max(...during1))} (${during1.length} probes)`;
  figures["amiplex's event loop late by at most, during the Pings"] = ms(loop1);
  checks.push(check('every Ping answered exactly once, in order', piper.unanswered === 0 && piper.duplicated === 0 && piper.order.join() === ids.join(), `${pings - piper.unanswered} of ${pings} answered, ${piper.duplicated} twice`));
  checks.push(check('no Ping refused (input paused instead)', piper.errors === 0, `${piper.errors} errors`));
  targets.push({ what: `another client's round trip under ${TARGET_MS} ms during the Pings`, met: Math.max(...during1) < TARGET_MS, measured: `max ${ms(Math.max(...during1))}` });
  piper.close();

  // 2. Bare blank lines.
  const blank = await client(amiplex.port, 'blank');
  const t2 = performance.now();
  blank.write(Buffer.alloc(blanks * 2, '\r\n'));
  await waitFor(() => blank.closed, (floodTimeoutS + 30) * 1000, 'the blank-line flood to be disconnected');
  const t3 = performance.now();
  const during2 = probe.between(t2, t3);
  const loop2 = (await loopReset()).loopDelayMaxMs;
  const bound = rate + Math.ceil((rate * (t3 - t2)) / 1000) + 1;
  const stats = await amiplex.stats();
  log(`  ${blanks} blank lines: ${blank.anonymousResponses} answered, disconnected after ${((t3 - t2) / 1000).toFixed(1)} s; probe max ${ms(Math.max(...during2))}`);
  figures['bare blank lines (one write)'] = `${blanks.toLocaleString('en-US')} (${(blanks * 2) / 1e6} MB)`;
  figures['answered (Missing action in request)'] = blank.anonymousResponses;
  figures['bytes amiplex wrote back'] = `${((blank.anonymousResponses * 55) / 1e6).toFixed(2)} MB`;
  figures['flooding client disconnected after'] = `${((t3 - t2) / 1000).toFixed(1)} s (malformed_rate ${rate}/s, malformed_timeout ${floodTimeoutS} s)`;
  figures['probe round trip during the blank lines, p50 / p99 / max'] = `${ms(quantile(during2, 0.5))} / ${ms(quantile(during2, 0.99))} / ${ms(Math.max(...during2))} (${during2.length} probes)`;
  figures["amiplex's event loop late by at most, during the blank lines"] = ms(loop2);
  checks.push(check('blank lines answered at malformed_rate at most', blank.anonymousResponses > 0 && blank.anonymousResponses <= bound, `${blank.anonymousResponses} answers in ${((t3 - t2) / 1000).toFixed(1)} s (at most ${bound})`));
  checks.push(check('the flooding client disconnected and counted', blank.closed && stats.floodingClientsDropped === 1, `closed: ${blank.closed}, amiplex_flooding_clients_disconnected_total ${stats.floodingClientsDropped}`));
  targets.push({ what: `another client's round trip under ${TARGET_MS} ms during the blank lines`, met: Math.max(...during2) < TARGET_MS, measured: `max ${ms(Math.max(...during2))}` });

  // 3. Random bytes.
  const junk = await client(amiplex.port, 'junk');
  const t4 = performance.now();
  junk.write(randomBytes(garbageBytes));
  await sleep(s.short ? 1500 : 4000);
  const t5 = performance.now();
  const during3 = probe.between(t4, t5);
  const after = await probe.client.request([['Action', 'ProxyListServers']], 10_000);
  figures['random bytes (one write)'] = `${garbageBytes / 1024} KiB`;
  figures['answers to them'] = junk.anonymousResponses;
  figures['probe round trip during the random bytes, max'] = ms(Math.max(...during3));
  const afterOk = getHeader(after.answer, 'Response') !== 'Error';
  checks.push(check('amiplex answers as usual after the garbage', afterOk, `ProxyListServers: ${afterOk ? 'answered' : 'error'}`));
  await probe.stop();
  checks.push(check('every probe answered', probe.failures === 0 && !probe.client.closed, `${probe.samples.length} answered, ${probe.failures} failed`));
  junk.close();
  probe.client.close();
  return {
    name: 'burst',
    title: 'One client bursting beside a latency probe',
    setup: `A probe client asks ProxyListServers (answered by amiplex alone) every 10 ms while, one after the other, a client writes ${pings.toLocaleString('en-US')} pipelined Pings in one write, another ${blanks.toLocaleString('en-US')} bare blank lines, a third ${garbageBytes / 1024} KiB of random bytes. The PBX generates background traffic.`,
    figures,
    checks,
    targets,
  };
}
