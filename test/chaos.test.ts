/**
 * The short version of `npm run chaos` (bench/chaos/): the PBX killed and restarted under load,
 * one client bursting pipelined actions, blank lines and garbage beside a latency probe,
 * clients that stop reading against client_buffer_total, a hostile PBX, slowloris and malformed
 * HTTP, a herd against authlimit. It runs the built suite (dist/, which `npm test` builds first)
 * in a process of its own and asserts its checks — correctness only (every action answered
 * exactly once, none misrouted, clients still connected, memory bounded with a generous margin):
 * its timings on a shared machine are figures, not assertions.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('../dist/bench/chaos/run.js', import.meta.url));

interface Result {
  readonly name: string;
  readonly checks: ReadonlyArray<{ what: string; ok: boolean; detail: string }>;
  readonly figures: Record<string, unknown>;
}

describe('npm run chaos -- --short', () => {
  it('every check holds in every scenario', async () => {
    expect(existsSync(RUN), `${RUN} is missing: npm run build (npm test builds first)`).toBe(true);
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
      execFile(process.execPath, [RUN, '--short', '--json'], { maxBuffer: 16 * 1024 * 1024, timeout: 240_000 }, (err, out, errOut) => {
        resolve({ stdout: out, stderr: errOut, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
      });
    });
    const report = JSON.parse(stdout) as { results: Result[]; failures: string[] };
    expect(report.results.map((r) => r.name)).toEqual(['restart', 'burst', 'memory', 'hostile', 'http', 'herd']);
    const failed = report.results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `${r.name}: ${c.what}: ${c.detail}`));
    expect(failed, stderr.slice(-3000)).toEqual([]);
    expect(report.failures, stderr.slice(-3000)).toEqual([]);
    expect(code).toBe(0);
    // Not vacuous: the PBX was killed and actions were answered around it; the budget was reached.
    const restart = report.results.find((r) => r.name === 'restart')!;
    expect(restart.figures['answered by the PBX']).toBeGreaterThan(0);
    expect(restart.figures['answered with an error (PBX away)']).toBeGreaterThan(0);
  }, 300_000);
});
