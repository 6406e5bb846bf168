/**
 * A small reader of the Prometheus text exposition format (what /metrics answers), for tests:
 * the `# TYPE` of each metric family, and every sample as name, labels and value. Strict: a
 * line it cannot read throws, so a malformed exposition fails the test that scraped it.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** Metric family name → counter, gauge, histogram, summary or untyped. */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      if (!line.startsWith('# TYPE ')) continue; // HELP, or another comment
      const type = TYPE.exec(line);
      if (!type) throw new Error(`line ${i + 1}: bad TYPE line: ${line}`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? '', i + 1), value: parseValue(m[3]!, i + 1) });
  }
  return { types, samples };
}

function parseLabels(text: string, lineNo: number): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`line ${lineNo}: bad labels: {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

function parseValue(text: string, lineNo: number): number {
  // As Prometheus reads them (Go's ParseFloat): any case, so prom-client's `Nan` too.
  const word = text.toLowerCase();
  if (word === '+inf' || word === 'inf') return Infinity;
  if (word === '-inf') return -Infinity;
  if (word === 'nan') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`line ${lineNo}: bad value ${text}`);
  return n;
}

/** The samples named `name` whose labels include every one given. */
export function samplesOf(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample named `name` with these labels; throws when there is none or several. */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(e, name, labels);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}, expected one`);
  return found[0]!.value;
}
