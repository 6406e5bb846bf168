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

export function accessOf(user: UserConfig): UserAccess {
  let access = compiled.get(user);
  if (access === undefined) {
    access = { policy: compileActionPolicy(user), events: compileUserEventFilter(user) };
    compiled.set(user, access);
  }
  return access;
}
