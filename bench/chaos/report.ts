/** The chaos run as Markdown: the command that produced it, then per scenario its figures, checks and targets. */
import type { ScenarioResult } from './common.js';

export interface ChaosReport {
  readonly command: string;
  readonly machine: string;
  readonly elapsedS: number;
  readonly results: readonly ScenarioResult[];
  readonly failures: readonly string[];
}

const cell = (v: number | string): string => (typeof v === 'number' ? v.toLocaleString('en-US') : v).replace(/\|/g, '\\|');

export function renderChaosReport(r: ChaosReport): string {
  const out: string[] = [];
  out.push(`## Chaos run: \`${r.command}\``, '');
  out.push(`${r.machine}; ${r.elapsedS.toFixed(0)} s in all. Timings are indicative: the machine is shared.`, '');
  for (const s of r.results) {
    out.push(`### ${s.title}`, '', s.setup, '');
    out.push('| figure | value |', '| --- | ---: |');
    for (const [k, v] of Object.entries(s.figures)) out.push(`| ${cell(k)} | ${cell(v)} |`);
    out.push('');
    if (s.targets.length > 0) {
      out.push('| target | measured | |', '| --- | --- | --- |');
      for (const t of s.targets) out.push(`| ${cell(t.what)} | ${cell(t.measured)} | ${t.met ? 'met' : '**missed**'} |`);
      out.push('');
    }
    out.push('| check | | detail |', '| --- | --- | --- |');
    for (const c of s.checks) out.push(`| ${cell(c.what)} | ${c.ok ? 'ok' : '**FAILED**'} | ${cell(c.detail)} |`);
    out.push('');
  }
  if (r.failures.length > 0) {
    out.push('### Failures', '');
    for (const f of r.failures) out.push(`- ${f.split('\n')[0]}`);
    out.push('');
  } else {
    out.push('Every check held.', '');
  }
  return out.join('\n');
}
