/**
 * The Filter action per client session (src/filters/session-filters.ts): Asterisk's answers
 * and error texts, the filters it adds, and amiplex's limit of filters per session.
 */
import { describe, expect, it } from 'vitest';

import { eventClassBits } from '../src/ami/event-classes.js';
import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { Outbound } from '../src/clients/shared/outbound.js';
import { EventFilterSet } from '../src/filters/event-filter.js';
import {
  applyFilterAction, FILTER_COMPILE_ERROR, FILTER_FORMAT_ERROR, FILTER_LIMIT_ERROR, filterAction, MAX_SESSION_FILTERS,
} from '../src/filters/session-filters.js';
import { captureMessages } from './helpers/captures.js';

const action = (...headers: AmiHeader[]): AmiMessage => ({ headers: [['Action', 'Filter'], ...headers] });

function ev(...lines: string[]): Outbound {
  const headers: AmiHeader[] = lines.map((l) => {
    const i = l.indexOf(': ');
    return [l.slice(0, i), l.slice(i + 2)];
  });
  const message: AmiMessage = { headers };
  return new Outbound(message, 'pbx1', eventClassBits(message));
}

describe('Action: Filter', () => {
  it('answers as Asterisk 22 did in capture 10c, and the filter applies', () => {
    // The client sent: Action: Filter / Operation: Add / Filter: Event: UserEvent / ActionID: flt
    const filters = new EventFilterSet();
    const answer = applyFilterAction(filters, action(['Operation', 'Add'], ['Filter', 'Event: UserEvent'], ['ActionID', 'flt']));
    const captured = captureMessages('10c-filter-waitevent').find((m) => m.headers.some(([n, v]) => n === 'ActionID' && v === 'flt'))!;
    expect(answer.headers).toEqual(captured.headers);
    expect(answer.headers).toEqual([['Response', 'Success'], ['ActionID', 'flt'], ['Message', 'Success']]);
    expect(filters.size).toBe(1);
    expect(filters.admits(ev('Event: UserEvent', 'UserEvent: TestEvent'))).toBe(true);
    expect(filters.admits(ev('Event: Newchannel', 'Channel: X'))).toBe(false);
  });

  it('takes MatchCriteria for a structured filter', () => {
    const filters = new EventFilterSet();
    const answer = applyFilterAction(filters, action(
      ['Operation', 'add'], ['MatchCriteria', 'action(exclude),header(Channel),method(starts_with)'], ['Filter', 'Local/'],
    ));
    expect(answer.headers).toEqual([['Response', 'Success'], ['Message', 'Success']]);
    expect(filters.admits(ev('Event: Newchannel', 'Channel: Local/1@x-1;1'))).toBe(false);
    expect(filters.admits(ev('Event: Newchannel', 'Channel: PJSIP/1-1'))).toBe(true);
  });

  it('an empty MatchCriteria is a legacy filter; a "!" excludes', () => {
    const filters = new EventFilterSet();
    applyFilterAction(filters, action(['Operation', 'Add'], ['MatchCriteria', ''], ['Filter', '!Event: VarSet']));
    expect(filters.admits(ev('Event: VarSet', 'Channel: X'))).toBe(false);
    expect(filters.admits(ev('Event: Hangup', 'Channel: X'))).toBe(true);
  });

  it('Operation must be Add (any case); otherwise or without it: Unknown operation', () => {
    const filters = new EventFilterSet();
    for (const op of [['Operation', 'Remove'], ['Operation', 'Add '], undefined] as const) {
      const answer = applyFilterAction(filters, op === undefined ? action(['Filter', 'x'], ['ActionID', '7']) : action(op, ['Filter', 'x'], ['ActionID', '7']));
      expect(answer.headers).toEqual([['Response', 'Error'], ['ActionID', '7'], ['Message', 'Unknown operation']]);
    }
    expect(filters.size).toBe(0);
  });

  it('a badly formatted filter: Asterisk’s text, nothing added, the reason for the log', () => {
    const filters = new EventFilterSet();
    for (const bad of [
      action(['Operation', 'Add']),
      action(['Operation', 'Add'], ['Filter', '!']),
      action(['Operation', 'Add'], ['MatchCriteria', 'name(Hangup)'], ['Filter', 'x']),
      action(['Operation', 'Add'], ['MatchCriteria', 'nope(1)'], ['Filter', 'x']),
      action(['Operation', 'Add'], ['MatchCriteria', 'header(Channel),method(startsWith)'], ['Filter', 'x']),
    ]) {
      const r = filterAction(filters, bad);
      expect(r.response.headers).toEqual([['Response', 'Error'], ['Message', FILTER_FORMAT_ERROR]]);
      expect(r.reason).toBeTruthy();
    }
    expect(FILTER_FORMAT_ERROR).toBe('Filter was formatted incorrectly.  Check the syntax of the filter given.');
    expect(filters.size).toBe(0);
  });

  it('a regular expression that does not compile: Asterisk’s text', () => {
    const filters = new EventFilterSet();
    for (const bad of [
      action(['Operation', 'Add'], ['Filter', 'Channel: (PJSIP']),
      action(['Operation', 'Add'], ['MatchCriteria', 'header(Channel),method(regex)'], ['Filter', '[z-a]']),
    ]) {
      expect(applyFilterAction(filters, bad).headers).toEqual([['Response', 'Error'], ['Message', FILTER_COMPILE_ERROR]]);
    }
    expect(FILTER_COMPILE_ERROR).toBe('Filter did not compile.  Check the syntax of the filter given.');
    expect(filters.size).toBe(0);
  });

  it(`a session adds at most ${MAX_SESSION_FILTERS} filters; the user’s own do not count`, () => {
    const user = new EventFilterSet();
    applyFilterAction(user, action(['Operation', 'Add'], ['Filter', 'Event: Hangup']));
    const filters = user.copy();
    for (let i = 0; i < MAX_SESSION_FILTERS; i++) {
      expect(applyFilterAction(filters, action(['Operation', 'Add'], ['Filter', `Event: E${i}`])).headers[0]).toEqual(['Response', 'Success']);
    }
    const r = filterAction(filters, action(['Operation', 'Add'], ['Filter', 'Event: One-too-many'], ['ActionID', 'x']));
    expect(r.response.headers).toEqual([['Response', 'Error'], ['ActionID', 'x'], ['Message', FILTER_LIMIT_ERROR]]);
    expect(r.reason).toMatch(/100/);
    expect(filters.size).toBe(MAX_SESSION_FILTERS + 1);
  });
});
