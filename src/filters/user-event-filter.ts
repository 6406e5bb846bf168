/**
 * A user's event filter, compiled once per user from its [user] section: which broadcast
 * events it receives. (Answers to its own actions — responses, EventList items — are not
 * filtered here.) Pure but for the related-call memory of its device scope (device-scope.ts),
 * which the user's sessions share. In order, cheapest first, all must pass:
 *
 * 1. servers: the event's server is one of `servers` (events amiplex makes for no particular
 *    server, server undefined, always pass);
 * 2. read: the event's classes are all among `read` (manager.conf's rule, as Asterisk checks
 *    readperm); absent = all. An event without a Privilege header counts as every class
 *    (event-classes.ts), so only a user reading `all` gets it;
 * 3. amiplex's own events (names starting `Proxy`: ProxyServerUp, ProxyServerDown) pass from
 *    here on, whatever the rules below: every user who may use the server learns it went away;
 * 4. channels: the event is about one of the user's devices (device-scope.ts);
 * 5. events / deny_events: the name matches `events` (absent = all) and not `deny_events`;
 * 6. eventfilter: Asterisk's filters (event-filter.ts). A session's Filter actions add to a
 *    copy of them (`withEventFilters`), as Asterisk copies a user's filters into each session.
 * A user with none of these rules costs one Set look-up per event.
 */
import { classListBits } from '../ami/event-classes.js';
import { toWire } from '../ami/message.js';
import type { UserConfig } from '../config/types.js';
import { DeviceScope } from './device-scope.js';
import { EventFilterSet, parseEventFilter } from './event-filter.js';
import type { EventView } from './event-view.js';
import { compileNameGlobs } from './name-glob.js';

export type EventPredicate = (ev: EventView) => boolean;

export interface UserEventFilter extends EventPredicate {
  /** The user's eventfilter lines as a set, never changed: `copy()` it to seed a session's. */
  readonly eventFilters: EventFilterSet;
  /** The device scope (undefined without `channels`). */
  readonly scope: DeviceScope | undefined;
  /** The same filter with `filters` in place of the user's eventfilter lines (a session's own set, seeded with them). */
  withEventFilters(filters: EventFilterSet): EventPredicate;
}

/** The user's eventfilter lines as a set; throws on a line proxy.conf validation would have refused. */
export function userEventFilterSet(user: UserConfig): EventFilterSet {
  const set = new EventFilterSet();
  for (const spec of user.eventFilter ?? []) {
    const r = parseEventFilter(spec.criteria === undefined ? undefined : toWire(spec.criteria), toWire(spec.expression));
    if (!r.ok) throw new Error(`[user ${user.name}] eventfilter: ${r.reason}`);
    set.add(r.rule);
  }
  return set;
}

/**
 * `scope`: a DeviceScope to keep (one compiled for the same devices before a reload), so the
 * calls it has related to the devices stay related.
 */
export function compileUserEventFilter(user: UserConfig, keep: { readonly scope?: DeviceScope } = {}): UserEventFilter {
  const servers = new Set(user.servers.map(toWire));
  const read = user.read === undefined ? undefined : classListBits(user.read.join(','));
  const allowed = compileNameGlobs(user.events);
  const denied = compileNameGlobs(user.denyEvents);
  const scope = user.channels !== undefined && user.channels.length > 0 ? (keep.scope ?? new DeviceScope(user.channels.map(toWire))) : undefined;
  const eventFilters = userEventFilterSet(user);

  const build = (filters: EventFilterSet): EventPredicate => {
    const withFilters = filters.size > 0 || filters !== eventFilters;
    const rules = scope !== undefined || allowed !== undefined || denied !== undefined || withFilters;
    if (!rules && read === undefined) return (ev) => ev.server === undefined || servers.has(ev.server);
    return (ev) => {
      if (ev.server !== undefined && !servers.has(ev.server)) return false;
      if (read !== undefined && (ev.classBits & read) !== ev.classBits) return false;
      if (!rules) return true;
      const name = ev.name;
      if (name.startsWith('Proxy')) return true;
      if (scope !== undefined && !scope.admits(ev)) return false;
      if (allowed !== undefined && !allowed(name)) return false;
      if (denied !== undefined && denied(name)) return false;
      return !withFilters || filters.admits(ev);
    };
  };

  const filter = build(eventFilters);
  return Object.assign(filter, {
    eventFilters,
    scope,
    withEventFilters: build,
  });
}
