/**
 * A thundering herd: many clients connecting and logging in at once (after a restart of
 * amiplex, say), against authlimit — the most connections that may wait to log in at a time.
 * With the default (50) most of a large herd is closed at once and must come back; sized to
 * the herd, every one logs in. The figures size authlimit in docs/limits.md.
 */
import { performance } from 'node:perf_hooks';
import { hashSecret } from '../../src/access/secret-hash.js';
import { BENCH_USER } from '../protocol.js';
import type { Scope } from '../setup.js';
import { openSocket } from './ami-client.js';
import { check, ms, startAmiplex, startSim, type ChaosSettings, type Log, type ScenarioResult } from './common.js';

/** Connects and logs in; resolves with whether it got in, and when it was done. */
async function attempt(port: number): Promise<{ in: boolean; at: number }> {
  const socket = await openSocket(port).catch(() => undefined);
  if (!socket) return { in: false, at: performance.now() };
  return new Promise((resolve) => {
    let got = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve({ in: ok, at: performance.now() });
    };
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('Authentication accepted')) done(true);
    });
    socket.on('close', () => done(false));
    setTimeout(() => done(false), 30_000).unref();
    socket.write(`Action: Login\r\nUsername: ${BENCH_USER.username}\r\nSecret: ${BENCH_USER.secret}\r\nEvents: off\r\n\r\n`);
  });
}

async function herd(scope: Scope, n: number, authlimit: number | undefined, secretHash?: string): Promise<{ in: number; ms: number; refused: number }> {
  const sim = await startSim(scope, 0);
  const amiplex = await startAmiplex(scope, sim.port, {
    general: authlimit === undefined ? [] : [`authlimit = ${authlimit}`],
    ...(secretHash === undefined ? {} : { userLines: [`secret_hash = ${secretHash}`] }),
  });
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: n }, () => attempt(amiplex.port)));
  const got = results.filter((r) => r.in);
  const stats = await amiplex.stats();
  await scope.release();
  return { in: got.length, ms: Math.max(...got.map((r) => r.at)) - t0, refused: stats.refusedConnections };
}

export async function herdScenario(scope: Scope, s: ChaosSettings, log: Log): Promise<ScenarioResult> {
  const n = s.short ? 300 : 3000;
  const byDefault = await herd(scope, n, undefined);
  log(`  authlimit 50: ${byDefault.in} of ${n} logged in, ${byDefault.refused} refused`);
  const sized = await herd(scope, n, n);
  log(`  authlimit ${n}: ${sized.in} of ${n} logged in in ${ms(sized.ms)}`);
  // Logins checked against a secret_hash (scrypt, about 50 ms of one core each, four at a time).
  const hashedN = s.short ? 40 : 400;
  const hashed = await herd(scope, hashedN, hashedN, await hashSecret(BENCH_USER.secret));
  log(`  secret_hash, authlimit ${hashedN}: ${hashed.in} of ${hashedN} logged in in ${ms(hashed.ms)}`);
  return {
    name: 'herd',
    title: 'A herd of clients logging in at once, against authlimit',
    setup: `${n.toLocaleString('en-US')} raw AMI clients connect at the same moment and log in (plain secret), once with the default authlimit (50) and once with authlimit = ${n}; then ${hashedN} whose user has a secret_hash (scrypt) instead. A refused connection is closed before the banner; here it does not come back.`,
    figures: {
      'authlimit 50: logged in': `${byDefault.in} of ${n}`,
      'authlimit 50: closed at once (amiplex_connections_refused_total)': byDefault.refused,
      [`authlimit ${n}: logged in`]: `${sized.in} of ${n}`,
      [`authlimit ${n}: the last one in after`]: ms(sized.ms),
      [`${hashedN} users with a secret_hash (scrypt), authlimit ${hashedN}: logged in`]: `${hashed.in} of ${hashedN}`,
      [`${hashedN} with a secret_hash: the last one in after`]: ms(hashed.ms),
    },
    checks: [
      check('sized to the herd, every client logs in', sized.in === n && sized.refused === 0, `${sized.in} of ${n}, ${sized.refused} refused`),
      check('every refusal is counted', byDefault.in + byDefault.refused === n, `${byDefault.in} in + ${byDefault.refused} refused of ${n}`),
      check('with a secret_hash too, every client logs in', hashed.in === hashedN, `${hashed.in} of ${hashedN}`),
    ],
    targets: [],
  };
}
