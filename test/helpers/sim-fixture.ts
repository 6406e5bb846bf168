/**
 * Simulated PBXes and test clients for the simulator's own tests, all torn down after each
 * test: call `useSimFixture()` once at the top of a test file.
 */
import { afterEach } from 'vitest';
import { SimulatedPbx, type SimulatorOptions } from '../../src/sim/index.js';
import { AmiTestClient } from './ami-test-client.js';

const running: SimulatedPbx[] = [];
const clients: AmiTestClient[] = [];

export function useSimFixture(): void {
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });
}

/** A simulated PBX on a free port, with a short failed-login delay. */
export async function startSim(opts: SimulatorOptions = {}): Promise<{ sim: SimulatedPbx; port: number }> {
  const sim = new SimulatedPbx({ authFailDelayMs: 50, ...opts });
  running.push(sim);
  const { port } = await sim.start();
  return { sim, port };
}

/** A connected test client, closed after the test. */
export async function connect(port: number): Promise<AmiTestClient> {
  const c = await AmiTestClient.connect(port);
  clients.push(c);
  return c;
}

/** A test client logged in (as admin, or `user` with its name as secret). */
export async function loggedIn(port: number, events?: string, user = 'admin'): Promise<AmiTestClient> {
  const c = await connect(port);
  await c.login(user, user, events);
  return c;
}
