/**
 * Asterisk 22's event filters (manager.conf `eventfilter`, the `Filter` action), with the
 * semantics of main/manager.c (manager_add_filter, filter_cmp_fn, match_eventdata,
 * should_send_event). Pure. What Asterisk does, and so what this does:
 *
 * Parsing (`criteria` is what is between the parentheses of `eventfilter(...)`, or the Filter
 * action's MatchCriteria; undefined means the legacy form `eventfilter = REGEX`):
 * - A leading `!` in the expression makes the filter an exclude filter and is removed, in both
 *   forms; an explicit `action(include)` or `action(exclude)` then overrides it.
 * - Legacy: the expression is a regular expression matched against the whole event; it must not
 *   be empty (after the `!`).
 * - Structured: the criteria are split at blanks, commas and `)`; each piece must start with
 *   `action`, `name`, `header` or `method` (case-sensitive) followed by `(VALUE`. The values
 *   `include`/`exclude` and the method names are case-sensitive. A repeated option: the last wins.
 *   The default method is `none`, so an expression needs an explicit method, `none` needs an
 *   empty expression, and a filter with neither name() nor header() needs an expression.
 *   (Asterisk's Filter action documentation says regex is the default and spells the methods
 *   startsWith/endsWith; the code, which is what runs, says none and starts_with/ends_with.)
 * Matching one filter:
 * - name(X): the event's name must be exactly X (case-sensitive; Asterisk compares hashes).
 * - header(H): the lines of the event starting `H:` (case-sensitive), their value after the
 *   blanks that follow the colon; lines with an empty value are skipped; the filter matches when
 *   any such value matches. Without header(): the whole event text (EventView.text()).
 * - regex: unanchored POSIX extended regex (see posix-regex.ts for how it maps to JavaScript);
 *   exact, starts_with, ends_with, contains: plain case-sensitive comparisons; none: always.
 * A set of filters (should_send_event): none → every event; includes only → an event must match
 * one; excludes only → it must match none; both → it must match an include and no exclude.
 */
import type { EventView } from './event-view.js';
import { compilePosixRegex } from './posix-regex.js';

export const MATCH_METHODS = ['regex', 'exact', 'starts_with', 'ends_with', 'contains', 'none'] as const;
export type MatchMethod = (typeof MATCH_METHODS)[number];

export interface EventFilterRule {
  readonly exclude: boolean;
  /** name(): the event name required, or undefined. */
  readonly eventName: string | undefined;
  /** header(): the header name, without its colon, or undefined. */
  readonly header: string | undefined;
  readonly method: MatchMethod;
  /** The expression, its `!` removed ('' for method none). */
  readonly pattern: string;
  matches(ev: EventView): boolean;
}

export type EventFilterParse =
  | { readonly ok: true; readonly rule: EventFilterRule }
  /** `error`: which of Asterisk's failures this is (FILTER_FORMAT_ERROR or FILTER_COMPILE_FAIL). */
  | { readonly ok: false; readonly reason: string; readonly error: 'format' | 'compile' };

const format = (reason: string): EventFilterParse => ({ ok: false, reason, error: 'format' });

/** Asterisk's ast_strip(): blanks off both ends (C isspace, not Unicode spaces). */
function strip(s: string): string {
  return s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}

/** Asterisk's ast_skip_blanks(): every character up to the space (1 to 32) at the start. */
function skipBlanks(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) <= 32 && s.charCodeAt(i) > 0) i++;
  return i === 0 ? s : s.slice(i);
}

/**
 * One filter. `expression` is a byte string (as message values are): text from proxy.conf goes
 * through toWire() first.
 */
export function parseEventFilter(criteria: string | undefined, expression: string): EventFilterParse {
  let pattern = expression;
  let exclude = false;
  if (pattern.startsWith('!')) {
    exclude = true;
    pattern = pattern.slice(1);
  }
  let method: MatchMethod = 'regex';
  let eventName: string | undefined;
  let header: string | undefined;

  if (criteria === undefined) {
    if (pattern === '') return format('a legacy eventfilter needs a regular expression');
  } else {
    method = 'none';
    const options = strip(criteria + ')');
    if (options === '' || !options.endsWith(')')) return format('filter options not formatted correctly');
    let found = false;
    for (const option of options.split(/[ ,)]+/)) {
      if (option === '') continue;
      const open = option.indexOf('(');
      const value = open < 0 ? undefined : strip(option.slice(open + 1));
      if (option.startsWith('action')) {
        if (value === 'include') exclude = false;
        else if (value === 'exclude') exclude = true;
        else if (value === undefined || value === '') return format("'action' needs (include) or (exclude)");
        else return format(`'action' option '${value}' is unknown: expected include or exclude`);
      } else if (option.startsWith('name')) {
        if (value === undefined || value === '') return format("'name' needs an event name: name(Newchannel)");
        eventName = value;
      } else if (option.startsWith('header')) {
        if (value === undefined || value === '') return format("'header' needs a header name: header(Channel)");
        header = value.endsWith(':') ? value.slice(0, -1) : value;
      } else if (option.startsWith('method')) {
        if (value === undefined || value === '') return format(`'method' needs one of ${MATCH_METHODS.join(', ')}`);
        const m = MATCH_METHODS.find((x) => x === value);
        if (m === undefined) return format(`'method' option '${value}' is unknown: expected one of ${MATCH_METHODS.join(', ')} (case matters)`);
        method = m;
      } else {
        return format(`filter option '${option}${open < 0 ? '' : ')'}' is unknown: expected action(...), name(...), header(...) or method(...)`);
      }
      found = true;
    }
    if (!found) return format('no action, name, header or method option found');
    if (pattern === '' && method !== 'none') return format(`method ${method} needs an expression after "="`);
    if (pattern !== '' && method === 'none') {
      return format('the method is none (the default) but an expression is given: add method(regex), method(exact), ... or leave the expression empty');
    }
    if (eventName === undefined && header === undefined && method === 'none') {
      return format('no name or header option and no expression: give name(...) or header(...)');
    }
  }

  let test: (data: string) => boolean;
  switch (method) {
    case 'regex': {
      const r = compilePosixRegex(pattern);
      if (!r.ok) return { ok: false, reason: `the regular expression does not compile: ${r.reason}`, error: 'compile' };
      const re = r.regex;
      test = (d) => re.test(d);
      break;
    }
    case 'exact':
      test = (d) => d === pattern;
      break;
    case 'starts_with':
      test = (d) => d.startsWith(pattern);
      break;
    case 'ends_with':
      test = (d) => d.endsWith(pattern);
      break;
    case 'contains':
      test = (d) => d.includes(pattern);
      break;
    case 'none':
      test = () => true;
      break;
  }
  return { ok: true, rule: new Rule(exclude, eventName, header, method, pattern, test) };
}

class Rule implements EventFilterRule {
  /** header() names with a colon inside (or none at all) are no decoded header's name: those scan the text. */
  private readonly linePrefix: string | undefined;

  constructor(
    readonly exclude: boolean,
    readonly eventName: string | undefined,
    readonly header: string | undefined,
    readonly method: MatchMethod,
    readonly pattern: string,
    private readonly test: (data: string) => boolean,
  ) {
    this.linePrefix = header !== undefined && (header === '' || header.includes(':')) ? header + ':' : undefined;
  }

  matches(ev: EventView): boolean {
    if (this.eventName !== undefined && ev.name !== this.eventName) return false;
    const header = this.header;
    if (header === undefined) return this.test(ev.text());
    if (this.linePrefix !== undefined) return this.matchLines(ev.text(), this.linePrefix);
    // A decoded header's name is the text before the first colon of its line, so "the line
    // starts with `H:`" is "the name is H" for a name without a colon.
    for (const [name, value] of ev.message.headers) {
      if (name !== header) continue;
      const v = skipBlanks(value);
      if (v !== '' && this.test(v)) return true;
    }
    return false;
  }

  private matchLines(text: string, prefix: string): boolean {
    for (let line of text.split('\n')) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (!line.startsWith(prefix)) continue;
      const v = skipBlanks(line.slice(prefix.length));
      if (v !== '' && this.test(v)) return true;
    }
    return false;
  }
}

/** A session's or user's filters, include and exclude, evaluated as Asterisk's should_send_event. */
export class EventFilterSet {
  private readonly includes: EventFilterRule[] = [];
  private readonly excludes: EventFilterRule[] = [];
  private readonly addedRules: EventFilterRule[] = [];

  add(rule: EventFilterRule): void {
    (rule.exclude ? this.excludes : this.includes).push(rule);
    this.addedRules.push(rule);
  }

  /** The filters added since this set was made (by `new` or `copy()`), in order. */
  get addedSinceCreated(): readonly EventFilterRule[] {
    return this.addedRules;
  }

  /** Filters in the set. */
  get size(): number {
    return this.includes.length + this.excludes.length;
  }

  /** Filters added since this set was made (by `new` or `copy()`). */
  get added(): number {
    return this.addedRules.length;
  }

  /** A new set with the same filters (rules are immutable and shared); its `added` starts at 0. */
  copy(): EventFilterSet {
    const set = new EventFilterSet();
    set.includes.push(...this.includes);
    set.excludes.push(...this.excludes);
    return set;
  }

  admits(ev: EventView): boolean {
    const includes = this.includes;
    if (includes.length > 0) {
      let any = false;
      for (const r of includes) {
        if (r.matches(ev)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    }
    for (const r of this.excludes) if (r.matches(ev)) return false;
    return true;
  }
}
