/**
 * Manager permission classes as bit masks, the way Asterisk numbers them (shared with amiplex
 * itself: src/ami/event-classes.ts). One mask type serves three purposes: a user's read and
 * write permissions (manager.conf `read=`/`write=`), a session's event mask (`Events:` at
 * login, `Action: Events`), and an event's category (the classes named in its `Privilege:`
 * header, without `all`).
 */
import { classListBits, EVENT_CLASSES, eventMaskFromValue, isAmiTrue } from '../ami/event-classes.js';

export const PERM = EVENT_CLASSES;

/** Every class at once: what `all` grants. Printed as 2147483647 by the CLI, as Asterisk does. */
export const ALL_PERMS = 0x7fffffff;

/** A comma-separated class list (`call,system`, `all`, `<none>`, ``) as a permission mask. */
export function classListToMask(list: string): number {
  return list.split(',').some((name) => name.trim().toLowerCase() === 'all') ? ALL_PERMS : classListBits(list);
}

/** Asterisk's ast_true(). */
export const isTrue = isAmiTrue;

/**
 * An `Events:` / `EventMask:` value as a mask, or `undefined` when the value leaves the mask
 * as it was (absent, empty, or naming no class: an unknown value does not turn events off).
 */
export function eventMaskFrom(value: string | undefined): number | undefined {
  return value === undefined ? undefined : eventMaskFromValue(value);
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
