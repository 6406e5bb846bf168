import { describe, expect, it } from 'vitest';
import { AnswerOrder } from '../src/clients/shared/answer-order.js';

describe('AnswerOrder', () => {
  it('holds a later answer until every earlier action of the same PBX is fully answered', () => {
    const o = new AnswerOrder<string>();
    const a = o.open();
    const b = o.open();
    o.setLane(a, 'pbx1');
    o.setLane(b, 'pbx1');
    expect(o.push(b, 'b-response', true).ready).toEqual([]);
    expect(o.push(a, 'a-start', false).ready).toEqual(['a-start']);
    expect(o.push(a, 'a-item', false).ready).toEqual(['a-item']);
    expect(o.push(a, 'a-complete', true).ready).toEqual(['a-complete', 'b-response']);
    expect(o.pending).toBe(0);
  });

  it('never lets a slow PBX hold up the answers of another', () => {
    const o = new AnswerOrder<string>();
    const slow = o.open();
    const fast = o.open();
    o.setLane(slow, 'pbx1');
    o.setLane(fast, 'pbx2');
    expect(o.push(fast, 'fast', true).ready).toEqual(['fast']);
    expect(o.push(slow, 'slow', true).ready).toEqual(['slow']);
  });

  it('finds an answer of one PBX behind many pending ones of another, and writes the rest in order once they come', () => {
    const o = new AnswerOrder<string>();
    const slow = Array.from({ length: 3 }, () => o.open());
    for (const s of slow) o.setLane(s, 'pbx1');
    const fast = o.open();
    o.setLane(fast, 'pbx2');
    expect(o.push(slow[1]!, 'slow-1', true).ready).toEqual([]);
    expect(o.push(fast, 'fast', true).ready).toEqual(['fast']);
    expect(o.push(slow[0]!, 'slow-0', true).ready).toEqual(['slow-0', 'slow-1']);
    expect(o.push(slow[2]!, 'slow-2', true).ready).toEqual(['slow-2']);
    expect(o.pending).toBe(0);
  });

  it('writes a local answer only after everything sent before it, and holds up everything after it', () => {
    const o = new AnswerOrder<string>();
    const forwarded = o.open();
    o.setLane(forwarded, 'pbx1');
    const local = o.open();
    const after = o.open();
    o.setLane(after, 'pbx2');
    expect(o.push(local, 'events-on', true).ready).toEqual([]);
    expect(o.push(after, 'pbx2-answer', true).ready).toEqual([]);
    expect(o.push(forwarded, 'pbx1-answer', true).ready).toEqual(['pbx1-answer', 'events-on', 'pbx2-answer']);
  });

  it('asks to close after a Logoff answer, once everything before it was written', () => {
    const o = new AnswerOrder<string>();
    const ping = o.open();
    o.setLane(ping, 'pbx1');
    const logoff = o.open(true);
    expect(o.push(logoff, 'goodbye', true)).toEqual({ ready: [], close: false });
    expect(o.push(ping, 'pong', true)).toEqual({ ready: ['pong', 'goodbye'], close: true });
  });

  it('writes a part for an action already answered at once', () => {
    const o = new AnswerOrder<string>();
    const a = o.open();
    o.push(a, 'done', true);
    expect(o.push(a, 'late', false).ready).toEqual(['late']);
  });
});
