/**
 * Value kinds: how one proxy.conf value is read. Each kind says what it expects (for error
 * messages and documentation) and parses a trimmed value into its typed form. Pure.
 * A failed parse gives a reason; the caller adds the key, the line and (unless the key is
 * sensitive) the value itself.
 */
import { checkNetwork } from '../access/acl.js';
import { bcryptHashShape, MAX_BCRYPT_COST, scryptParamsAcceptable } from '../access/secret-hash.js';
import { EVENT_CLASSES } from '../ami/event-classes.js';
import { toWire } from '../ami/message.js';
import { parseEventFilter } from '../filters/event-filter.js';
import { parseHost, parseHostPort } from './host-port.js';
import type { EventFilterSpec, HostPort } from './types.js';

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export interface ValueKind<T> {
  /** What a value must look like, as a noun phrase: "an integer from 1 to 65535". */
  readonly expected: string;
  /** `arg`: for keys written `key(ARG) = value` (eventfilter's structured form), what is between the parentheses. */
  parse(text: string, arg?: string): ParseResult<T>;
}

/** Node's timers overflow past 2^31-1 ms (about 24.8 days) and then fire at once. */
export const MAX_DURATION_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Section names and the names they are referred to by: letters, digits, `_ . -`. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = (reason: string): ParseResult<never> => ({ ok: false, reason });
const expect = (kind: { expected: string }): ParseResult<never> => fail(`expected ${kind.expected}`);

/** Any text, the empty string included. */
export function text(): ValueKind<string> {
  return { expected: 'any text', parse: ok };
}

export function nonEmptyText(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: 'a non-empty text',
    parse: (t) => (t === '' ? expect(kind) : ok(t)),
  };
  return kind;
}

/** A name as `[server NAME]` and `[user NAME]` take it. */
export function name(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: 'a name of letters, digits, "_", "." and "-"',
    parse: (t) => (NAME_PATTERN.test(t) ? ok(t) : expect(kind)),
  };
  return kind;
}

export function integer(min: number, max: number): ValueKind<number> {
  const kind: ValueKind<number> = {
    expected: `an integer from ${min} to ${max}`,
    parse(t) {
      if (!/^-?\d+$/.test(t)) return expect(kind);
      const n = Number(t);
      return n >= min && n <= max ? ok(n) : expect(kind);
    },
  };
  return kind;
}

export interface DurationRange {
  /** Zero is refused (a timeout of 0 s makes no sense). Default: 0 is allowed. */
  readonly positive?: boolean;
  readonly max?: number;
}

/** Seconds, decimals allowed down to the millisecond: `30`, `0.5`, `1.250`. */
export function duration(range: DurationRange = {}): ValueKind<number> {
  const max = range.max ?? MAX_DURATION_SECONDS;
  const low = range.positive ? 'greater than 0' : 'from 0';
  const kind: ValueKind<number> = {
    expected: `a number of seconds ${low} up to ${max}, such as 30 or 0.5`,
    parse(t) {
      const m = /^\d+(?:\.(\d+))?$/.exec(t);
      if (m === null) return expect(kind);
      if (m[1] !== undefined && m[1].length > 3) {
        return fail('at most 3 decimal places: durations count in milliseconds');
      }
      const n = Number(t);
      if (n > max || (range.positive && n === 0)) return expect(kind);
      return ok(n);
    },
  };
  return kind;
}

const MULTIPLIERS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Bytes, plain or with a binary suffix `K`, `M` or `G` (lower case accepted): `512K`, `4M`. */
export function byteSize(min: number, max: number): ValueKind<number> {
  const kind: ValueKind<number> = {
    expected: `a size in bytes from ${formatBytes(min)} to ${formatBytes(max)}, such as 65536, 512K or 4M`,
    parse(t) {
      const m = /^(\d+)([KMGkmg]?)$/.exec(t);
      if (m === null) return expect(kind);
      const n = Number(m[1]) * MULTIPLIERS[m[2]!.toUpperCase()]!;
      return n >= min && n <= max ? ok(n) : expect(kind);
    },
  };
  return kind;
}

/** `4194304` as `4M`; sizes that are no whole multiple stay in bytes. */
export function formatBytes(n: number): string {
  for (const suffix of ['G', 'M', 'K']) {
    const m = MULTIPLIERS[suffix]!;
    if (n >= m && n % m === 0) return `${n / m}${suffix}`;
  }
  return String(n);
}

const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['yes', true], ['true', true], ['on', true], ['1', true],
  ['no', false], ['false', false], ['off', false], ['0', false],
]);

/** yes/no, true/false, on/off, 1/0, in any case. */
export function boolean(): ValueKind<boolean> {
  const kind: ValueKind<boolean> = {
    expected: 'yes or no (or true/false, on/off, 1/0)',
    parse(t) {
      const b = BOOLEANS.get(t.toLowerCase());
      return b === undefined ? expect(kind) : ok(b);
    },
  };
  return kind;
}

export function hostPort(): ValueKind<HostPort> {
  return {
    expected: 'HOST:PORT, such as 127.0.0.1:1234, [::1]:1234 or pbx.example.com:5038',
    parse: parseHostPort,
  };
}

/** A host name or IP address, no port. */
export function host(): ValueKind<string> {
  return { expected: 'a host name or IP address', parse: parseHost };
}

/** A NATS server: `nats://HOST:PORT` or `tls://HOST:PORT` (port 4222 when left out), or bare `HOST:PORT`. */
export function natsUrl(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: 'nats://HOST:PORT or tls://HOST:PORT (port 4222 when left out), such as nats://10.0.0.7:4222',
    parse(t) {
      const m = /^(?:(nats|tls):\/\/)?(.+?)(?::(\d+))?$/.exec(t);
      if (m === null) return expect(kind);
      const [, scheme, hostText, portText] = m;
      const h = parseHost(hostText!);
      if (!h.ok) return fail(h.reason);
      const port = portText === undefined ? 4222 : Number(portText);
      if (port < 1 || port > 65535) return fail('port must be from 1 to 65535');
      const host = h.value.includes(':') ? `[${h.value}]` : h.value;
      return ok(`${scheme ?? 'nats'}://${host}:${port}`);
    },
  };
  return kind;
}

/** A name that can stand as one token of a NATS subject: letters, digits, `_` and `-` (no dots). */
export function subjectToken(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: 'a name of letters, digits, "_" and "-"',
    parse: (t) => (/^[A-Za-z0-9_-]+$/.test(t) ? ok(t) : expect(kind)),
  };
  return kind;
}

/** Comma-separated items, blanks around each trimmed; empty items and repeats are errors. */
export function list(item: ValueKind<string>): ValueKind<string[]> {
  return {
    expected: `a comma-separated list, each item ${item.expected}`,
    parse(t) {
      const out: string[] = [];
      for (const raw of t.split(',')) {
        const piece = raw.trim();
        if (piece === '') return fail('empty item in list (check the commas)');
        const r = item.parse(piece);
        if (!r.ok) return fail(`item "${piece}": ${r.reason}`);
        if (out.includes(r.value)) return fail(`"${piece}" is listed twice`);
        out.push(r.value);
      }
      return ok(out);
    },
  };
}

/** One of a fixed set of words, matched exactly (case included). */
export function oneOf<const W extends string>(words: readonly W[]): ValueKind<W> {
  const expected = `one of ${words.join(', ')}`;
  return {
    expected,
    parse(t) {
      const found = words.find((w) => w === t);
      if (found !== undefined) return ok(found);
      const other = words.find((w) => w.toLowerCase() === t.toLowerCase());
      return fail(other === undefined ? `expected ${expected}` : `expected ${expected} (case matters: "${other}")`);
    },
  };
}

/** An IPv4 or IPv6 address or network for permit/deny: `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `::1`. */
export function network(): ValueKind<string> {
  return {
    expected: 'an IPv4 or IPv6 address or network, such as 10.0.0.0/8, 10.0.0.0/255.0.0.0 or ::1/128',
    parse: checkNetwork,
  };
}

/** A name with `*` wildcards (action or event names): letters, digits, `_`, `-`, `*`; matched without regard to case. */
export function namePattern(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: 'a name of letters, digits, "_" and "-", with "*" for any run of characters',
    parse: (t) => (/^[A-Za-z0-9_*-]+$/.test(t) ? ok(t) : expect(kind)),
  };
  return kind;
}

const CLASS_NAMES = [...Object.keys(EVENT_CLASSES), 'all'];

/** A manager.conf permission class (read/write): system, call, ..., or all. */
export function permissionClass(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: `a class: ${CLASS_NAMES.join(', ')}`,
    parse: (t) => (CLASS_NAMES.includes(t.toLowerCase()) ? ok(t.toLowerCase()) : expect(kind)),
  };
  return kind;
}

/** A device, as the start of its channel names: `PJSIP/1001`, `SIP/1001`, `Local/100@from-internal`. */
export function device(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: 'a device written TECH/RESOURCE, such as PJSIP/1001',
    parse: (t) => (/^[A-Za-z0-9_]+\/[^\s,;&]+$/.test(t) ? ok(t) : expect(kind)),
  };
  return kind;
}

/** A secret_hash as `amiplex hash-secret` prints it: `scrypt$N$r$p$SALT$HASH` (base64). */
export function secretHash(): ValueKind<string> {
  const kind: ValueKind<string> = {
    expected: 'a hash printed by "amiplex hash-secret" (scrypt$N$r$p$SALT$HASH), or a bcrypt hash ($2a$, $2b$ or $2y$, as astmanproxy.users keeps them)',
    parse(t) {
      if (t.startsWith('$2')) {
        const b = bcryptHashShape(t);
        return b === 'ok' ? ok(t) : b === 'cost' ? fail(`bcrypt cost out of range: at most ${MAX_BCRYPT_COST} (2^${MAX_BCRYPT_COST} rounds per check)`) : expect(kind);
      }
      const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]{22,}=*$/.exec(t);
      if (m === null) return expect(kind);
      if (!scryptParamsAcceptable(Number(m[1]), Number(m[2]), Number(m[3]))) {
        return fail('scrypt cost out of range: N must be a power of two and one check may take at most 256 MiB');
      }
      return ok(t);
    },
  };
  return kind;
}

/**
 * One eventfilter, as manager.conf writes it: `eventfilter = REGEX` (legacy, `!` excludes) or
 * `eventfilter(CRITERIA) = EXPRESSION` (structured). Checked in full here, with Asterisk's rules
 * (src/filters/event-filter.ts): what Asterisk would refuse is an error with its line.
 */
export function eventFilter(): ValueKind<EventFilterSpec> {
  return {
    expected: 'a regular expression (legacy form), or eventfilter(CRITERIA) = EXPRESSION',
    parse(t, arg) {
      const r = parseEventFilter(arg === undefined ? undefined : toWire(arg), toWire(t));
      if (!r.ok) return fail(r.reason);
      return arg === undefined ? ok({ expression: t }) : ok({ criteria: arg, expression: t });
    },
  };
}
