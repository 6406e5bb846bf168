/**
 * Timelines the call engine schedules on. A call never sets its own timers: it asks its
 * timeline to run a step `after` some milliseconds. The real-time timeline keeps one Node
 * timer armed for the earliest task and runs every task due at once (batched), so a thousand
 * calls cost one timer. The traffic generator drives a virtual timeline it advances itself.
 */

export interface TaskHandle {
  cancelled: boolean;
}

export interface Timeline {
  /** Current time on this timeline, as epoch milliseconds. */
  nowMs(): number;
  /** Runs `fn` after `ms` milliseconds of this timeline's time. */
  after(ms: number, fn: () => void): TaskHandle;
}

interface Task extends TaskHandle {
  due: number;
  seq: number;
  fn: () => void;
}

/** A binary min-heap of tasks by due time, then by insertion order. */
export class TaskHeap {
  private items: Task[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  /** Due time of the earliest task, or Infinity. */
  peekDue(): number {
    return this.items[0]?.due ?? Infinity;
  }

  push(due: number, fn: () => void): TaskHandle {
    const task: Task = { due, seq: this.seq++, fn, cancelled: false };
    const a = this.items;
    a.push(task);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
    return task;
  }

  /** Removes and returns the earliest task. */
  pop(): Task | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && less(a[l]!, a[m]!)) m = l;
      if (r < a.length && less(a[r]!, a[m]!)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
    return top;
  }

  /** Runs, in order, every task due at or before `now` (including ones they schedule). */
  runDue(now: number): number {
    let ran = 0;
    while (this.items.length > 0 && this.items[0]!.due <= now) {
      const t = this.pop()!;
      if (t.cancelled) continue;
      t.cancelled = true;
      ran++;
      t.fn();
    }
    return ran;
  }

  /** Moves every task by `delta` ms (order is unchanged). */
  shift(delta: number): void {
    for (const t of this.items) t.due += delta;
  }

  clear(): void {
    for (const t of this.items) t.cancelled = true;
    this.items = [];
  }
}

function less(a: Task, b: Task): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** Wall-clock timeline with a single armed timer. */
export class RealTimeline implements Timeline {
  private readonly heap = new TaskHeap();
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  /** `onError` gets anything a task throws; the timeline keeps running. */
  constructor(private readonly onError: (err: unknown) => void) {}

  nowMs(): number {
    return Date.now();
  }

  after(ms: number, fn: () => void): TaskHandle {
    const h = this.heap.push(Date.now() + Math.max(0, ms), fn);
    this.arm();
    return h;
  }

  get pending(): number {
    return this.heap.size;
  }

  clear(): void {
    this.heap.clear();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
  }

  private arm(): void {
    const due = this.heap.peekDue();
    if (due === Infinity || due >= this.armedFor) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedFor = due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - Date.now()));
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    try {
      this.heap.runDue(Date.now());
    } catch (err) {
      this.onError(err);
    }
    this.arm();
  }
}
