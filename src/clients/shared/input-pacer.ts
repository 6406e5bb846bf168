/**
 * Paces what one client sends, so that no client can hold the event loop for long, whatever it
 * writes at once. Its bytes are handed to the decoder a slice at a time (at most `sliceBytes`,
 * cut after a line end when there is one), one slice per turn of the event loop: between two
 * slices every other client's input, every PBX's answers and every timer get their turn.
 *
 * While bytes wait here the socket is paused, so a client that writes faster than it is served
 * fills its own TCP window and nobody else's memory (backpressure on that socket only). The
 * session may also make its input wait: for a while (its malformed input is answered at a
 * bounded rate), until `kick()` (it has too many actions unanswered), or until `release()`
 * (a login is being checked).
 *
 * Small input — a few actions in one read — is handled at once, in the same turn, as before.
 */
import { ReadSwitch, type Pausable } from '../../net/read-switch.js';

/** Bytes handed to the decoder in one turn of the event loop: about 120 Pings, 2048 blank lines. */
export const INPUT_SLICE_BYTES = 4096;

const LF = 10;

export interface InputSink {
  /** Decodes and handles bytes (the decoder calls the session's handlers at once). */
  consume(bytes: Buffer): void;
  /** How long (ms) the rest must wait before the next slice: 0 to go on, Infinity until `kick()`. */
  delay(): number;
  /** Once delay() is 0: how many bytes may be handed over before it is asked again (default: the rest of the slice). */
  allowance?(): number;
}

export class InputPacer {
  private queue: Buffer[] = [];
  private queued = 0;
  private held = false;
  private closed = false;
  private running = false;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly reading: ReadSwitch;

  constructor(
    socket: Pausable,
    private readonly sink: InputSink,
    private readonly sliceBytes = INPUT_SLICE_BYTES,
  ) {
    this.reading = new ReadSwitch(socket);
  }

  /** Bytes waiting to be handled. */
  get waiting(): number {
    return this.queued;
  }

  /** Bytes read from the socket. */
  push(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (!this.scheduled) this.run();
  }

  /** Handle nothing more until `release()`. */
  hold(): void {
    this.held = true;
    this.reading.pause();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.schedule();
  }

  /** Something `delay()` depends on changed (an answer came): try again. */
  kick(): void {
    if (this.queued > 0 && !this.held && !this.running && !this.scheduled) this.schedule();
  }

  /** Forgets what is waiting; nothing more is handled. */
  close(): void {
    this.closed = true;
    this.reading.close();
    this.queue = [];
    this.queued = 0;
    this.unschedule();
  }

  private get scheduled(): boolean {
    return this.immediate !== undefined || this.timer !== undefined;
  }

  private schedule(): void {
    this.unschedule();
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.run();
    });
  }

  private unschedule(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  /** Handles up to sliceBytes, as far as the session lets it, then yields until the next turn. */
  private run(): void {
    if (this.closed || this.held || this.running) return;
    let budget = this.sliceBytes;
    while (this.queued > 0) {
      if (budget <= 0) {
        this.reading.pause();
        this.schedule();
        return;
      }
      const wait = this.sink.delay();
      if (this.closed || this.held) return;
      if (wait > 0) {
        this.reading.pause();
        if (Number.isFinite(wait)) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.run();
          }, wait);
        }
        return;
      }
      const allowed = this.sink.allowance?.() ?? budget;
      const max = Math.max(1, Math.min(budget, allowed));
      const whole = this.queue[0]!.length <= max;
      const piece = this.take(max);
      // A chunk cut for the slice's sake: the rest starts the next turn's slice, at a line start.
      budget = whole || allowed < budget ? budget - piece.length : 0;
      this.running = true;
      try {
        this.sink.consume(piece);
      } finally {
        this.running = false;
      }
      if (this.closed || this.held) return;
    }
    this.reading.resume();
  }

  /** The next piece: at most `max` bytes of the first chunk, ending after its last line end when it has one. */
  private take(max: number): Buffer {
    const first = this.queue[0]!;
    if (first.length <= max) {
      this.queue.shift();
      this.queued -= first.length;
      return first;
    }
    const lf = first.lastIndexOf(LF, max - 1);
    const cut = lf >= 0 ? lf + 1 : max;
    this.queue[0] = first.subarray(cut);
    this.queued -= cut;
    return first.subarray(0, cut);
  }
}
