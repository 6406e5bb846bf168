/**
 * Keeps a client's answers in the order it sent its actions, as one Asterisk session does:
 * Asterisk reads a session's actions one after another, so the answers to pipelined actions
 * come back in order — and clients such as Perl's Telephony::Asterisk::AMI take the first
 * `Response: Error` they see as the answer to their action.
 *
 * Through amiplex, actions go to several PBXes and some are answered by amiplex itself, so
 * each action takes a slot in a lane:
 * - a PBX's lane: its answers come in the order they were sent to that PBX, and a slow PBX
 *   never holds up the answers of another;
 * - the local lane (amiplex's own answers: Events, Logoff, Proxy*, errors): a barrier, written
 *   only once every action sent before it is fully answered, and holding up every one after it.
 * The slot that may be written streams as its parts arrive (a long EventList is not held back).
 *
 * Pure: messages in, messages out; no sockets, no timers.
 */
export const LOCAL_LANE = '';

export interface AnswerSlot {
  readonly seq: number;
}

interface SlotState<T> {
  lane: string;
  parts: T[];
  done: boolean;
  readonly closeAfter: boolean;
}

export interface Released<T> {
  /** What may be written now, in order. */
  readonly ready: T[];
  /** A slot opened with closeAfter (Logoff) was fully written: close the connection. */
  readonly close: boolean;
}

const NOTHING: Released<never> = Object.freeze({ ready: [], close: false });

export class AnswerOrder<T> {
  /** Slots not yet fully written, in the order their actions came (Map keeps insertion order). */
  private readonly slots = new Map<number, SlotState<T>>();
  /** How many of those are in each PBX lane: the scan for what may be written stops once every lane is held up. */
  private readonly lanes = new Map<string, number>();
  private nextSeq = 0;

  /** Actions not yet fully answered. */
  get pending(): number {
    return this.slots.size;
  }

  /** Takes the next slot, in the local lane until `setLane`; `closeAfter` marks the action after whose answer the client is closed. */
  open(closeAfter = false): AnswerSlot {
    const seq = this.nextSeq++;
    this.slots.set(seq, { lane: LOCAL_LANE, parts: [], done: false, closeAfter });
    return { seq };
  }

  /** Puts a slot in a PBX's lane (before any part of its answer is pushed). */
  setLane(slot: AnswerSlot, lane: string): void {
    const state = this.slots.get(slot.seq);
    if (!state || state.lane === lane) return;
    this.countLane(state.lane, -1);
    state.lane = lane;
    this.countLane(lane, 1);
  }

  private countLane(lane: string, by: number): void {
    if (lane === LOCAL_LANE) return;
    const n = (this.lanes.get(lane) ?? 0) + by;
    if (n > 0) this.lanes.set(lane, n);
    else this.lanes.delete(lane);
  }

  /** Adds a part of a slot's answer (`final` for its last part). */
  push(slot: AnswerSlot, part: T, final: boolean): Released<T> {
    const state = this.slots.get(slot.seq);
    // Already fully answered: nothing to wait for.
    if (!state) return { ready: [part], close: false };
    state.parts.push(part);
    if (final) state.done = true;
    return this.release();
  }

  private release(): Released<T> {
    const ready: T[] = [];
    const busyLanes = new Set<string>();
    let earlierPending = false;
    let barrier = false;
    for (const [seq, slot] of this.slots) {
      const free = slot.lane === LOCAL_LANE ? !earlierPending : !barrier && !busyLanes.has(slot.lane);
      if (free) {
        for (const part of slot.parts) ready.push(part);
        slot.parts = [];
        if (slot.done) {
          this.slots.delete(seq);
          this.countLane(slot.lane, -1);
          if (slot.closeAfter) return { ready, close: true };
          continue;
        }
      }
      earlierPending = true;
      if (slot.lane === LOCAL_LANE) barrier = true;
      else busyLanes.add(slot.lane);
      // Nothing later may be written: a pending local answer holds up everything after it, and
      // every lane still in use has an earlier answer pending. (Without this stop, each answer
      // cost a scan of every pending action: quadratic for a client pipelining thousands.)
      if (barrier || busyLanes.size === this.lanes.size) break;
    }
    return ready.length === 0 ? NOTHING : { ready, close: false };
  }
}
