/**
 * From INI entries to typed sections: checks each header against SECTION_TYPES and each key
 * against its table, parses values, applies defaults and reports what is missing. Every
 * problem becomes an issue; reading goes on, so one pass reports them all. Pure.
 */
import type { ConfigIssue, ConfigIssueCode } from './errors.js';
import type { IniEntry } from './ini.js';
import type { AnyKeySpec, SectionType, SectionTypeName } from './schema.js';
import { SECTION_TYPES } from './schema.js';
import { didYouMean } from './suggest.js';
import { NAME_PATTERN } from './values.js';

export interface ReadSection {
  readonly type: SectionTypeName;
  /** `undefined` for an unnamed section type such as [general]. */
  readonly name: string | undefined;
  /** Line of the header; 0 for a section the file leaves out (all defaults). */
  readonly line: number;
  /** Parsed values by field, defaults applied. A bad or missing value leaves its field out. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Where each field was given: one line per occurrence. Defaults have none. */
  readonly lines: ReadonlyMap<string, readonly number[]>;
}

/** `[server pbx1]`, `[general]`. */
export function sectionLabel(type: string, name: string | undefined): string {
  return name === undefined ? `[${type}]` : `[${type} ${name}]`;
}

const TYPE_NAMES = Object.keys(SECTION_TYPES) as SectionTypeName[];

const INDEXES: ReadonlyMap<SectionTypeName, ReadonlyMap<string, AnyKeySpec>> = new Map(
  TYPE_NAMES.map((t) => [t, new Map(SECTION_TYPES[t].keys.map((k) => [k.key, k]))]),
);

/** A section being read. `keep` is false when its header was wrong: keys are checked, then dropped. */
interface Open {
  readonly type: SectionTypeName;
  readonly def: SectionType;
  readonly name: string | undefined;
  readonly line: number;
  readonly keep: boolean;
  readonly fields: Record<string, unknown>;
  readonly lines: Map<string, number[]>;
}

/**
 * Reads every section of the file. Returns the sections with a sound, unique header, in file
 * order; issues go to `issues`.
 */
export function readSections(
  entries: readonly IniEntry[],
  file: string,
  issues: ConfigIssue[],
): ReadSection[] {
  const report = (line: number, code: ConfigIssueCode, message: string): void => {
    issues.push({ file, line, code, message });
  };
  const out: ReadSection[] = [];
  const seen = new Map<string, { label: string; line: number }>();
  // null: inside a section of unknown type (its keys are skipped); undefined: before any header.
  let open: Open | null | undefined;

  const close = (): void => {
    if (open) {
      finish(open, report);
      if (open.keep) out.push(open);
    }
  };

  for (const entry of entries) {
    if (entry.type === 'error') {
      report(entry.line, 'SYNTAX', entry.message);
    } else if (entry.type === 'section') {
      close();
      open = openSection(entry.header, entry.line, seen, report);
    } else if (open === undefined) {
      report(entry.line, 'KEY_OUTSIDE_SECTION',
        `key "${entry.key}" comes before any section header: put it under [general], [server NAME] or [user NAME]`);
    } else if (open !== null) {
      readKey(open, entry.key, entry.value, entry.line, report);
    }
  }
  close();
  return out;
}

/** The sections of a type the file leaves out: defaults only; missing required keys are not reported. */
export function defaultSection(type: SectionTypeName): ReadSection {
  const open: Open = {
    type, def: SECTION_TYPES[type], name: undefined, line: 0, keep: true, fields: {}, lines: new Map(),
  };
  finish(open, () => undefined);
  return open;
}

type Report = (line: number, code: ConfigIssueCode, message: string) => void;

function openSection(
  header: string,
  line: number,
  seen: Map<string, { label: string; line: number }>,
  report: Report,
): Open | null {
  const words = header.split(/\s+/).filter((w) => w !== '');
  const typeWord = words[0];
  if (typeWord === undefined) {
    report(line, 'SYNTAX', 'empty section header "[]"');
    return null;
  }
  if (!Object.hasOwn(SECTION_TYPES, typeWord)) {
    report(line, 'UNKNOWN_SECTION',
      `unknown section type "${typeWord}"${didYouMean(typeWord, TYPE_NAMES)}: expected [general], [server NAME] or [user NAME]`);
    return null;
  }
  const type = typeWord as SectionTypeName;
  const def: SectionType = SECTION_TYPES[type];
  const rest = words.slice(1);
  let keep = true;
  let name: string | undefined;
  if (!def.named) {
    if (rest.length > 0) {
      report(line, 'BAD_SECTION_NAME', `[${type}] takes no name`);
      keep = false;
    }
  } else if (rest.length === 0) {
    report(line, 'BAD_SECTION_NAME', `[${type}] needs a name: [${type} NAME]`);
    keep = false;
  } else if (rest.length > 1) {
    report(line, 'BAD_SECTION_NAME', `bad name in [${header}]: a name cannot contain blanks`);
    keep = false;
  } else if (!NAME_PATTERN.test(rest[0]!)) {
    report(line, 'BAD_SECTION_NAME', `bad name "${rest[0]!}" in [${type}]: use letters, digits, "_", "." and "-"`);
    keep = false;
  } else {
    name = rest[0]!;
  }
  const label = sectionLabel(type, name);
  if (keep) {
    // Names are compared without case: Asterisk matches user names that way, and two
    // servers that differ only in case are a typo waiting to happen.
    const id = name === undefined ? type : `${type} ${name.toLowerCase()}`;
    const first = seen.get(id);
    if (first !== undefined) {
      const how = def.once ? `[${type}] may appear only once` : `duplicate ${label}`;
      const same = first.label === label ? '' : ` ${first.label} (names are compared without case)`;
      report(line, 'DUPLICATE_SECTION', `${how}: first given at line ${first.line}${same}`);
      keep = false;
    } else {
      seen.set(id, { label, line });
    }
  }
  return { type, def, name, line, keep, fields: {}, lines: new Map() };
}

function readKey(open: Open, written: string, value: string, line: number, report: Report): void {
  const label = sectionLabel(open.type, open.name);
  // `key(ARG)`: a key that takes an argument in its name (eventfilter's structured form).
  const keyed = /^([a-z_]+)\((.*)\)$/s.exec(written);
  const key = keyed ? keyed[1]! : written;
  const arg = keyed ? keyed[2]! : undefined;
  const spec = INDEXES.get(open.type)!.get(key);
  if (spec !== undefined && arg !== undefined && !spec.keyed) {
    report(line, 'UNKNOWN_KEY', `"${key}" takes no argument in parentheses in ${label}`);
    return;
  }
  if (spec === undefined) {
    const elsewhere = TYPE_NAMES.filter((t) => t !== open.type && INDEXES.get(t)!.has(key));
    const hint = elsewhere.length > 0
      ? ` (it belongs in ${elsewhere.map((t) => `[${t}${SECTION_TYPES[t].named ? ' NAME' : ''}]`).join(' or ')})`
      : didYouMean(key, INDEXES.get(open.type)!.keys());
    report(line, 'UNKNOWN_KEY', `unknown key "${key}" in ${label}${hint}`);
    return;
  }
  const given = open.lines.get(spec.field);
  if (given !== undefined && !spec.repeatable) {
    report(line, 'REPEATED_KEY', `"${key}" given twice in ${label} (first at line ${given[0]!}); it takes one value`);
    return;
  }
  if (given === undefined) open.lines.set(spec.field, [line]);
  else given.push(line);
  const r = spec.kind.parse(value, arg);
  if (!r.ok) {
    const shown = spec.sensitive ? '' : ` "${value}"`;
    report(line, 'BAD_VALUE', `bad value${shown} for ${key}: ${r.reason}`);
    return;
  }
  if (spec.repeatable) ((open.fields[spec.field] ??= []) as unknown[]).push(r.value);
  else open.fields[spec.field] = r.value;
}

function finish(open: Open, report: Report): void {
  for (const group of open.def.exactlyOne ?? []) {
    const keyOf = (field: string) => open.def.keys.find((k) => k.field === field)!.key;
    const given = group.filter((f) => open.lines.has(f));
    const label = sectionLabel(open.type, open.name);
    if (given.length === 0) {
      report(open.line, 'MISSING_KEY', `${label} is missing required key "${group.map(keyOf).join('" or "')}"`);
    } else if (given.length > 1) {
      const line = Math.max(...given.flatMap((f) => open.lines.get(f)!));
      report(line, 'CONFLICT', `${label} takes only one of "${given.map(keyOf).join('" and "')}"`);
    }
  }
  for (const spec of open.def.keys) {
    if (open.lines.has(spec.field)) continue;
    if (spec.required) {
      report(open.line, 'MISSING_KEY', `${sectionLabel(open.type, open.name)} is missing required key "${spec.key}"`);
    } else if (spec.default !== undefined) {
      const r = spec.kind.parse(spec.default);
      if (!r.ok) throw new Error(`schema bug: default "${spec.default}" of ${spec.key}: ${r.reason}`);
      open.fields[spec.field] = spec.repeatable ? [r.value] : r.value;
    }
  }
}
