/**
 * What one client session sees of its user's events once it sends `Action: Filter`: the
 * user's event filter with the session's own eventfilter set — a copy of the user's lines
 * plus what its Filter actions added (session-filters.ts) — kept across a reload that changes
 * the user. Until the first Filter, the user's own filter as it is (nothing copied).
 */
import type { AmiMessage } from '../ami/message.js';
import { accessOf } from '../access/user-access.js';
import type { UserConfig } from '../config/index.js';
import type { EventFilterRule } from './event-filter.js';
import { filterAction, type FilterActionResult } from './session-filters.js';
import type { EventPredicate } from './user-event-filter.js';

export class SessionEventFilter {
  /** The rules the session's Filter actions added, in order. */
  private added: readonly EventFilterRule[] = [];
  /** Compiled once per change (it runs for every event). */
  private predicate: EventPredicate;

  constructor(private user: UserConfig) {
    this.predicate = accessOf(user).events;
  }

  /** Whether the session sees a broadcast event. */
  get events(): EventPredicate {
    return this.predicate;
  }

  /** Asterisk's Filter action (its answer; the set grows on success). */
  add(action: AmiMessage): FilterActionResult {
    const events = accessOf(this.user).events;
    const set = events.eventFilters.copy();
    for (const rule of this.added) set.add(rule);
    const before = set.added;
    const result = filterAction(set, action);
    if (set.added > before) {
      this.added = [...set.addedSinceCreated];
      this.predicate = events.withEventFilters(set);
    }
    return result;
  }

  /** A reload changed the user (same name): its filters apply, with the session's additions on top. */
  updateUser(user: UserConfig): void {
    this.user = user;
    const events = accessOf(user).events;
    this.predicate = events;
    if (this.added.length === 0) return;
    const set = events.eventFilters.copy();
    for (const rule of this.added) set.add(rule);
    this.predicate = events.withEventFilters(set);
  }
}
