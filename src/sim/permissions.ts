/**
 * Manager permission classes as bit masks, the way Asterisk numbers them. One mask type
 * serves three purposes: a user's read and write permissions (manager.conf `read=`/`write=`),
 * a session's event mask (`Events:` at login, `Action: Events`), and an event's category
 * (the classes named in its `Privilege:` header, without `all`).
 */

export const PERM = Object.freeze({
  system: 1 << 0,
  call: 1 << 1,
  log: 1 << 2,
  verbose: 1 << 3,
  command: 1 << 4,
  agent: 1 << 5,
  user: 1 << 6,
  config: 1 << 7,
  dtmf: 1 << 8,
  reporting: 1 << 9,
  cdr: 1 << 10,
  dialplan: 1 << 11,
  originate: 1 << 12,
  agi: 1 << 13,
  cc: 1 << 14,
  aoc: 1 << 15,
  test: 1 << 16,
  security: 1 << 17,
  message: 1 << 18,
});

export type PermClass = keyof typeof PERM;

/** Every class at once: what `all` (and `Events: on`) grants. Printed as 2147483647 by the CLI. */
export const ALL_PERMS = 0x7fffffff;

const BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(PERM));

/**
 * A comma-separated class list (`call,system`, `all`, `<none>`, ``) as a mask.
 * Names are matched case-insensitively; unknown names add nothing.
 */
export function classListToMask(list: string): number {
  let mask = 0;
  for (const raw of list.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === 'all') return ALL_PERMS;
    const bit = BY_NAME.get(name);
    if (bit !== undefined) mask |= bit;
  }
  return mask;
}

const TRUE_WORDS = new Set(['yes', 'true', 'y', 't', '1', 'on']);
const FALSE_WORDS = new Set(['no', 'false', 'n', 'f', '0', 'off']);

/** Asterisk's ast_true(): yes/true/y/t/1/on, case-insensitive. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE_WORDS.has(value.trim().toLowerCase());
}

/**
 * An `Events:` / `EventMask:` value as a mask, or `undefined` when the value leaves the
 * mask as it was: empty, or words that name no class at all ("an unknown value does not
 * turn events off"). Digits are a numeric mask; on/yes/true… mean every class;
 * off/no/false… mean none; anything else is a class list.
 */
export function eventMaskFrom(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^[0-9]+$/.test(v)) return Number.parseInt(v, 10) & ALL_PERMS;
  const lower = v.toLowerCase();
  if (FALSE_WORDS.has(lower)) return 0;
  if (TRUE_WORDS.has(lower)) return ALL_PERMS;
  const mask = classListToMask(v);
  return mask === 0 ? undefined : mask;
}

/** Whether a session with this effective mask may receive an event of `category`. */
export function admits(mask: number, category: number): boolean {
  return (mask & category) === category;
}

/**
 * Whether write permissions allow an action whose authority is `authority`
 * (Asterisk: any shared class, or an action that needs none).
 */
export function mayRun(writePerm: number, authority: number): boolean {
  return authority === 0 || (writePerm & authority) !== 0;
}
