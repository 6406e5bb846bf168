/**
 * Asterisk's `Action: Filter` for one client session (main/manager.c action_filter): it adds
 * one filter to the session's set, which starts as a copy of the user's eventfilter lines
 * (UserEventFilter.eventFilters.copy()), so a session filter can widen what the user's own
 * include filters let through, as in Asterisk (which is why Filter needs the system class).
 * Pure: the set is changed, the answer returned.
 *
 * Headers, as Asterisk reads them: Operation (must be `Add`, any case; anything else or none:
 * "Unknown operation"), MatchCriteria (empty or absent: a legacy filter), Filter (absent counts
 * as empty). Answers, with Asterisk's exact texts (two spaces after the full stops):
 * - `Response: Success` / `Message: Success`;
 * - "Filter was formatted incorrectly.  Check the syntax of the filter given." (bad criteria,
 *   unknown method, an expression that does not fit the method, an empty legacy filter);
 * - "Filter did not compile.  Check the syntax of the filter given." (a bad regular expression).
 * amiplex's own limit: a session adds at most MAX_SESSION_FILTERS filters; one more gets
 * `Response: Error` / "Too many filters: a session may add at most 100" (Asterisk has no limit;
 * amiplex keeps a client from growing the work done for every event without bound).
 */
import { actionIdOf, getHeader, type AmiMessage } from '../ami/message.js';
import { errorResponse, response } from '../router/action-router.js';
import { parseEventFilter, type EventFilterSet } from './event-filter.js';

export const MAX_SESSION_FILTERS = 100;

export const FILTER_FORMAT_ERROR = 'Filter was formatted incorrectly.  Check the syntax of the filter given.';
export const FILTER_COMPILE_ERROR = 'Filter did not compile.  Check the syntax of the filter given.';
export const FILTER_LIMIT_ERROR = `Too many filters: a session may add at most ${MAX_SESSION_FILTERS}`;

export interface FilterActionResult {
  /** The answer for the client. */
  readonly response: AmiMessage;
  /** Why it failed, for the log (undefined on success). */
  readonly reason?: string;
}

/** Answers one Filter action, adding its filter to `filters` on success. */
export function applyFilterAction(filters: EventFilterSet, action: AmiMessage): AmiMessage {
  return filterAction(filters, action).response;
}

/** applyFilterAction with the reason of a failure, for the log. */
export function filterAction(filters: EventFilterSet, action: AmiMessage): FilterActionResult {
  const actionId = actionIdOf(action);
  const operation = getHeader(action, 'Operation') ?? '';
  if (operation.toLowerCase() !== 'add') {
    return { response: errorResponse(actionId, 'Unknown operation'), reason: `unknown operation "${operation}"` };
  }
  const criteria = getHeader(action, 'MatchCriteria') ?? '';
  const parsed = parseEventFilter(criteria === '' ? undefined : criteria, getHeader(action, 'Filter') ?? '');
  if (!parsed.ok) {
    return { response: errorResponse(actionId, parsed.error === 'compile' ? FILTER_COMPILE_ERROR : FILTER_FORMAT_ERROR), reason: parsed.reason };
  }
  if (filters.added >= MAX_SESSION_FILTERS) {
    return { response: errorResponse(actionId, FILTER_LIMIT_ERROR), reason: `already ${filters.added} filters added in this session` };
  }
  filters.add(parsed.rule);
  return { response: response('Success', actionId, ['Message', 'Success']) };
}
