/**
 * client_buffer_total: one budget for what every client together (raw AMI, event streams, any
 * other kind) has queued and not yet handed to the kernel. Each output tells the budget what it
 * holds after every write, so the total is known at once — not only at the next sweep — and a
 * burst to thousands of clients that stopped reading cannot overshoot it. Over it, the outputs
 * with the most queued are disconnected first, until the total is back under 7/8 of the budget
 * (so the next shedding is not one write away).
 *
 * The total is an upper bound between sweeps: an output that drained without writing again is
 * counted as it was at its last write, and `recount()` (the sweep, and before any shedding)
 * reads every output again.
 *
 * It also carries the clients' pace (client-pace.ts): whether they keep up, which the PBX
 * sessions read to slow down when most clients are behind.
 */
import { ClientPace } from './client-pace.js';

export interface BudgetMember {
  /** Bytes it holds now (its writable's writableLength). */
  readonly buffered: number;
  /** What the budget last counted for it: kept by the budget. */
  counted: number;
  /** Disconnect it, for the reason given (it logs and counts that). */
  shed(reason: string): void;
}

export class OutputBudget {
  private readonly members = new Set<BudgetMember>();
  private sum = 0;
  /** Whether the clients keep up with what they are given (every output tallies its writes here). */
  readonly pace = new ClientPace();

  constructor(private readonly limit: () => number) {}

  /** Bytes queued by every output together, as last counted. */
  get total(): number {
    return this.sum;
  }

  get size(): number {
    return this.members.size;
  }

  add(member: BudgetMember): void {
    member.counted = 0;
    this.members.add(member);
  }

  remove(member: BudgetMember): void {
    if (!this.members.delete(member)) return;
    this.sum -= member.counted;
    member.counted = 0;
  }

  /** An output now holds `buffered` bytes; over the budget, the largest are shed. */
  update(member: BudgetMember, buffered: number): void {
    if (!this.members.has(member)) return;
    this.sum += buffered - member.counted;
    member.counted = buffered;
    if (this.sum > this.limit()) this.recount();
  }

  /**
   * An output holding its writes (its socket over its high-water mark) took `bytes` more: counted
   * at once, not at its next flush, so a burst to thousands of lagging clients in one turn cannot
   * overshoot the budget by a turn's worth each. (The caller is a member: closed outputs never add.)
   */
  grew(member: BudgetMember, bytes: number): void {
    member.counted += bytes;
    this.sum += bytes;
    if (this.sum > this.limit()) this.recount();
  }

  /** Counts every output again; sheds the largest while over the budget. Returns the total. */
  recount(): number {
    let sum = 0;
    for (const m of this.members) {
      const b = m.buffered;
      m.counted = b;
      sum += b;
    }
    this.sum = sum;
    const limit = this.limit();
    if (sum > limit) this.shed(limit);
    return this.sum;
  }

  private shed(limit: number): void {
    const target = limit - Math.floor(limit / 8);
    const byQueue = [...this.members].sort((a, b) => b.counted - a.counted);
    for (const m of byQueue) {
      if (this.sum <= target) break;
      this.remove(m);
      m.shed(`output of all clients over client_buffer_total (${limit} bytes); this one had the most queued`);
    }
  }
}
