/**
 * What one proxy user may do and see, compiled once per [user] section (and again when a
 * reload gives a new one): its action policy and its event filter. Every client of the user
 * (raw AMI sessions, HTTP sessions, event streams, single HTTP requests) shares them.
 */
import type { UserConfig } from '../config/index.js';
import { compileUserEventFilter, type UserEventFilter } from '../filters/user-event-filter.js';
import { compileActionPolicy, type ActionPolicy } from './action-policy.js';

export interface UserAccess {
  readonly policy: ActionPolicy;
  readonly events: UserEventFilter;
}

const compiled = new WeakMap<UserConfig, UserAccess>();

/**
 * A reload gave `next` in place of `previous` (the same user): when its devices did not change,
 * its new event filter keeps the old device scope, whose memory of the calls in progress
 * (their other legs) would otherwise start empty.
 */
export function carryOverAccess(previous: UserConfig, next: UserConfig): void {
  const old = compiled.get(previous);
  if (old === undefined || compiled.has(next) || old.events.scope === undefined) return;
  if (JSON.stringify(previous.channels ?? []) !== JSON.stringify(next.channels ?? [])) return;
  compiled.set(next, { policy: compileActionPolicy(next), events: compileUserEventFilter(next, { scope: old.events.scope }) });
}

export function accessOf(user: UserConfig): UserAccess {
  let access = compiled.get(user);
  if (access === undefined) {
    access = { policy: compileActionPolicy(user), events: compileUserEventFilter(user) };
    compiled.set(user, access);
  }
  return access;
}
