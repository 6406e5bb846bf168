/**
 * Asterisk's manager permission classes (manager.h), used both for read permissions and for
 * a session's event mask, with Asterisk's own parsing rules for the `Events:` header.
 */
import { getHeader, type AmiMessage } from './message.js';
import { ABSENT, WireMessage } from './wire-message.js';

export const EVENT_CLASSES = Object.freeze({
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
} as const);

export type EventClass = keyof typeof EVENT_CLASSES;

const BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(EVENT_CLASSES));

/** Every class. */
export const ALL_CLASSES = Object.values(EVENT_CLASSES).reduce((a, b) => a | b, 0);

const TRUE_WORDS = new Set(['yes', 'true', 'y', 't', '1', 'on']);
const FALSE_WORDS = new Set(['no', 'false', 'n', 'f', '0', 'off']);

/** Asterisk's ast_true(). */
export function isAmiTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE_WORDS.has(value.trim().toLowerCase());
}

/** Asterisk's ast_false(). */
export function isAmiFalse(value: string | undefined): boolean {
  return value !== undefined && FALSE_WORDS.has(value.trim().toLowerCase());
}

/** Bits of a comma-separated class list; unknown names count for nothing; `all` is every class. */
export function classListBits(list: string): number {
  let bits = 0;
  for (const raw of list.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === 'all') return ALL_CLASSES;
    bits |= BY_NAME.get(name) ?? 0;
  }
  return bits;
}

/**
 * The event mask a client asks for with `Events:` (at Login) or `EventMask:` (Events action):
 * on/yes/… → all, off/no/… → none, digits → that mask, otherwise a class list.
 * Returns undefined when the value names nothing amiplex knows (an unknown word, e.g. a typo):
 * the caller keeps the current mask then, since an unknown value must never turn events off.
 */
export function eventMaskFromValue(value: string): number | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Number.parseInt(v, 10) & ALL_CLASSES;
  if (isAmiFalse(v)) return 0;
  if (isAmiTrue(v)) return ALL_CLASSES;
  const bits = classListBits(v);
  return bits === 0 ? undefined : bits;
}

/**
 * The classes an event belongs to, from its `Privilege:` header (`call,all` → call).
 * `all` in a Privilege header is Asterisk's marker that every reader may see it, not a class.
 * An event without Privilege (never broadcast by Asterisk) counts as every class.
 */
export function eventClassBits(event: AmiMessage): number {
  if (event instanceof WireMessage) {
    // A PBX's event: its Privilege value compared with the ones seen before, without a string.
    const known = event.whichValue('Privilege', knownPrivileges);
    if (known >= 0) return knownBits[known]!;
    if (known === ABSENT) return ALL_CLASSES;
  }
  const privilege = getHeader(event, 'Privilege');
  if (privilege === undefined) return ALL_CLASSES;
  let bits = privilegeCache.get(privilege);
  if (bits === undefined) {
    bits = privilegeBits(privilege);
    // A PBX uses a handful of Privilege values; the bound only guards against a strange one.
    if (privilegeCache.size < 1024) privilegeCache.set(privilege, bits);
    if (knownPrivileges.length < 32) {
      knownPrivileges.push(privilege);
      knownBits.push(bits);
    }
  }
  return bits;
}

const privilegeCache = new Map<string, number>();
/** The first Privilege values seen, and their bits: what a PBX's events are compared with first. */
const knownPrivileges: string[] = [];
const knownBits: number[] = [];

function privilegeBits(privilege: string): number {
  let bits = 0;
  for (const raw of privilege.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name !== 'all') bits |= BY_NAME.get(name) ?? 0;
  }
  return bits === 0 ? ALL_CLASSES : bits;
}
