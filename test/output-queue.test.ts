import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { JOIN_MAX, OutputQueue, standalone } from '../src/clients/shared/output-queue.js';
import { OutputBudget, type BudgetMember } from '../src/clients/shared/output-budget.js';
import { STALL_MS } from '../src/clients/shared/client-pace.js';

/** A writable stand-in: takes everything while `open`, else keeps it (as a socket over its high-water mark). */
class FakeSink extends EventEmitter {
  writes: Buffer[] = [];
  kept = 0;
  open = true;
  corks = 0;
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    if (!this.open) this.kept += chunk.length;
    return this.open;
  }
  cork(): void {
    this.corks++;
  }
  uncork(): void {}
  get writableLength(): number {
    return this.kept;
  }
  drain(): void {
    this.open = true;
    this.kept = 0;
    this.emit('drain');
  }
}

const turn = () => new Promise((r) => setImmediate(r));
const limits = { clientBuffer: 100, clientBufferMax: 1000, slowClientTimeoutMs: 1000 };
const roomy = { clientBuffer: 4 * JOIN_MAX, clientBufferMax: 16 * JOIN_MAX, slowClientTimeoutMs: 1000 };

function queue(sink: FakeSink, budget = new OutputBudget(() => 1e9), dropped: string[] = [], bounds = limits): OutputQueue {
  return new OutputQueue(sink, { isClosed: false, drop: (reason) => dropped.push(reason), limits: () => bounds, budget });
}

function member(buffered: number, shed: string[], name: string): BudgetMember {
  return { buffered, counted: 0, shed: () => shed.push(name) };
}

describe('OutputBudget', () => {
  it('over the budget, sheds the members with the most queued until back under 7/8 of it', () => {
    const budget = new OutputBudget(() => 800);
    const shed: string[] = [];
    const a = member(300, shed, 'a');
    const b = member(250, shed, 'b');
    const c = member(100, shed, 'c');
    for (const m of [a, b, c]) budget.add(m);
    budget.update(a, 300);
    budget.update(b, 250);
    budget.update(c, 100);
    expect(shed).toEqual([]);
    expect(budget.total).toBe(650);
    const d = member(200, shed, 'd');
    budget.add(d);
    budget.update(d, 200); // 850 > 800: a goes (550 ≤ 700)
    expect(shed).toEqual(['a']);
    expect(budget.total).toBe(550);
    expect(budget.size).toBe(3);
  });

  it('counts every member again before shedding: one that drained since its last write is not shed for it', () => {
    const budget = new OutputBudget(() => 800);
    const shed: string[] = [];
    const a = { buffered: 700, counted: 0, shed: () => shed.push('a') };
    const b = member(200, shed, 'b');
    budget.add(a);
    budget.add(b);
    budget.update(a, 700);
    a.buffered = 0; // drained, without a write since
    budget.update(b, 200);
    expect(shed).toEqual([]);
    expect(budget.total).toBe(200);
  });
});

describe('OutputQueue', () => {
  it('writes what a turn queued as one Buffer, the same Buffer for every queue given the same Buffers', async () => {
    const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
    const [a, b, c] = sinks.map((sink) => queue(sink));
    const ev1 = Buffer.from('Event: X\r\n\r\n');
    const ev2 = Buffer.from('Event: Y\r\n\r\n');
    for (const q of [a!, b!]) {
      q.push(ev1);
      q.push(ev2);
    }
    c!.push(ev1);
    c!.pushOwn(Buffer.from('Response: Success\r\n\r\n'));
    expect(sinks[0]!.writes).toEqual([]);
    await turn();
    for (const sink of sinks) expect(sink.writes).toHaveLength(1);
    expect(sinks[0]!.writes[0]!.toString()).toBe('Event: X\r\n\r\nEvent: Y\r\n\r\n');
    // One copy for both queues that were given the very same Buffers; its own for the third.
    expect(sinks[1]!.writes[0]).toBe(sinks[0]!.writes[0]);
    expect(sinks[2]!.writes[0]!.toString()).toBe('Event: X\r\n\r\nResponse: Success\r\n\r\n');
    expect(sinks.reduce((n, s) => n + s.corks, 0)).toBe(0);
  });

  it('reuses its arrays from flush to flush: each flush writes exactly what came since the last, a prefix of another queue is not taken for it', async () => {
    const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
    const [a, b, c] = sinks.map((sink) => queue(sink, undefined, [], roomy));
    const evs = ['A', 'B', 'C', 'D', 'E'].map((n) => Buffer.from(`Event: ${n}\r\n\r\n`));
    // Turn 1: a gets A B C, b gets A B (a prefix of a's), c gets A B C D.
    for (const e of evs.slice(0, 3)) a!.push(e);
    for (const e of evs.slice(0, 2)) b!.push(e);
    for (const e of evs.slice(0, 4)) c!.push(e);
    await turn();
    // Turn 2: fewer parts than the arrays held before, then more.
    a!.push(evs[4]!);
    b!.push(evs[3]!);
    b!.push(evs[4]!);
    for (const e of [...evs, ...evs]) c!.push(e);
    await turn();
    const text = (s: FakeSink) => s.writes.map((w) => w.toString().replace(/Event: |\r\n/g, ''));
    expect(text(sinks[0]!)).toEqual(['ABC', 'E']);
    expect(text(sinks[1]!)).toEqual(['AB', 'DE']);
    expect(text(sinks[2]!)).toEqual(['ABCD', 'ABCDEABCDE']);
  });

  it(`writes more than JOIN_MAX bytes of a turn by reference, in one corked write`, async () => {
    const sink = new FakeSink();
    const out = queue(sink, new OutputBudget(() => 1e9), [], roomy);
    const big = Buffer.alloc(JOIN_MAX, 0x41);
    const tail = Buffer.from('Event: X\r\n\r\n');
    out.push(big);
    out.push(tail);
    await turn();
    expect(sink.writes).toHaveLength(2);
    expect(sink.writes[0]).toBe(big);
    expect(sink.writes[1]).toBe(tail);
    expect(sink.corks).toBe(1);
  });

  it('once the sink says stop, holds what comes itself until it drains; counts it; drops the client over client_buffer_max', async () => {
    const sink = new FakeSink();
    const budget = new OutputBudget(() => 1e9);
    const dropped: string[] = [];
    const out = queue(sink, budget, dropped);
    sink.open = false;
    out.push(Buffer.alloc(50));
    await turn();
    expect(sink.writes).toHaveLength(1);
    for (let i = 0; i < 4; i++) out.push(Buffer.alloc(50));
    // Counted at once, before the turn's flush.
    expect(budget.total).toBe(250);
    await turn();
    // Held here, not handed to the sink.
    expect(sink.writes).toHaveLength(1);
    expect(out.buffered).toBe(250);
    expect(budget.total).toBe(250);
    expect(out.overSince).toBeDefined();
    sink.drain();
    // Handed on at the drain, joined (the sink is empty and it is under JOIN_MAX).
    expect(sink.writes).toHaveLength(2);
    expect(sink.writes[1]).toHaveLength(200);
    expect(out.buffered).toBe(0);
    expect(budget.total).toBe(0);
    expect(out.overSince).toBeUndefined();
    sink.open = false;
    for (let i = 0; i < 30; i++) out.push(Buffer.alloc(50));
    await turn();
    expect(dropped).toEqual(['output buffer over client_buffer_max (1000 bytes)']);
    expect(budget.size).toBe(0);
  });

  it('copies a message for this client alone out of a larger buffer when it is going to wait', async () => {
    const sink = new FakeSink();
    const out = queue(sink);
    const chunk = Buffer.from('Response: Success\r\n\r\nEvent: Rest\r\n\r\n');
    const view = chunk.subarray(0, 21);
    out.pushOwn(view);
    await turn();
    expect(sink.writes[0]).toBe(view);
    sink.open = false;
    out.pushOwn(Buffer.from('x'));
    await turn();
    out.pushOwn(view);
    await turn();
    sink.drain();
    const last = sink.writes.at(-1)!;
    expect(last.equals(view)).toBe(true);
    expect(last.buffer).not.toBe(chunk.buffer);
    expect(last.buffer.byteLength).toBe(21);
  });
});

describe('standalone', () => {
  it('keeps a buffer that owns its memory, copies a view', () => {
    const own = Buffer.allocUnsafeSlow(10);
    expect(standalone(own)).toBe(own);
    const view = Buffer.from('a short pooled string');
    expect(view.buffer.byteLength).toBeGreaterThan(view.length);
    const copy = standalone(view);
    expect(copy.equals(view)).toBe(true);
    expect(copy.buffer.byteLength).toBe(view.length);
  });
});

describe('Outbound, for clients that hold an event a while', () => {
  it('makes one standalone copy of an encoding that is a view, shared by every such client', async () => {
    const { Outbound } = await import('../src/clients/shared/outbound.js');
    const { standardFormat } = await import('../formats/standard.js');
    const chunk = Buffer.from('Event: A\r\nPrivilege: call,all\r\n\r\nEvent: B\r\n\r\n', 'latin1');
    const raw = chunk.subarray(0, 33);
    const out = new Outbound({ headers: [['Event', 'A'], ['Privilege', 'call,all']], raw }, 'pbx1', 1);
    expect(out.bytes(standardFormat, false)).toBe(raw);
    const held = out.bytes(standardFormat, false, true);
    expect(held.equals(raw)).toBe(true);
    expect(held.buffer.byteLength).toBe(held.length);
    expect(out.bytes(standardFormat, false, true)).toBe(held);
  });

  it('joins the PBX bytes and the Server line once; a client that holds them gets one copy of its own, shared', async () => {
    const { Outbound } = await import('../src/clients/shared/outbound.js');
    const { standardFormat } = await import('../formats/standard.js');
    const raw = Buffer.from('Event: A\r\nPrivilege: call,all\r\n\r\n', 'latin1');
    const out = new Outbound({ headers: [['Event', 'A'], ['Privilege', 'call,all']], raw }, 'pbx1', 1);
    const both = out.withServerLine(standardFormat, true);
    expect(both.toString('latin1')).toBe('Event: A\r\nPrivilege: call,all\r\nServer: pbx1\r\n\r\n');
    expect(out.withServerLine(standardFormat, true)).toBe(both);
    const held = out.withServerLine(standardFormat, true, true);
    expect(held.equals(both)).toBe(true);
    expect(held.byteOffset).toBe(0);
    expect(held.buffer.byteLength).toBe(held.length);
    expect(out.withServerLine(standardFormat, true, true)).toBe(held);
  });
});

describe('OutputQueue pace', () => {
  it('falls behind when its socket refuses more with a quarter of client_buffer unsent; at risk over client_buffer', async () => {
    const budget = new OutputBudget(() => 1e9);
    const sink = new FakeSink();
    const out = queue(sink, budget);
    sink.open = false;
    out.push(Buffer.alloc(20));
    await turn();
    // The sink took it and said stop: with the next 20 bytes, 40 are unsent, over a quarter of
    // client_buffer (100): behind.
    out.push(Buffer.alloc(20));
    expect(budget.pace.clientsBehind).toBe(1);
    expect(budget.pace.tally()).toBe('ahead'); // one write ahead, one behind: not most
    await turn();
    for (let i = 0; i < 4; i++) out.push(Buffer.alloc(20));
    await turn();
    // 120 bytes unsent, over client_buffer: its writes now count as at risk.
    expect(out.overSince).toBeDefined();
    out.push(Buffer.alloc(20));
    expect(budget.pace.tally()).toBe('capacity');
    // Beside a client whose socket takes everything: as many writes ahead as at risk, a rescue.
    const other = queue(new FakeSink(), budget);
    out.push(Buffer.alloc(20));
    other.push(Buffer.alloc(20));
    expect(budget.pace.tally()).toBe('rescue');
    sink.drain();
    expect(budget.pace.clientsBehind).toBe(0);
  });

  it('stalls once its socket has taken nothing for STALL_MS, not while it reads slowly; paces again when it reads', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t0 = Date.now();
      const budget = new OutputBudget(() => 1e9);
      const sink = new FakeSink();
      const out = queue(sink, budget, [], { clientBuffer: 100, clientBufferMax: 1e6, slowClientTimeoutMs: 1e6 });
      sink.open = false;
      out.push(Buffer.alloc(40));
      await turn();
      out.push(Buffer.alloc(40));
      await turn();
      expect(budget.pace.clientsBehind).toBe(1);
      // A slow reader: its socket takes what it was given, then refuses more, while more waits.
      const slowRead = (): void => {
        sink.kept = 0;
        sink.emit('drain');
        out.push(Buffer.alloc(40));
        out.push(Buffer.alloc(40));
      };
      vi.setSystemTime(t0 + 800);
      slowRead();
      await turn();
      vi.setSystemTime(t0 + STALL_MS + 500);
      out.checkSlow(Date.now());
      // Behind for longer than STALL_MS, but its socket took something 700 ms ago: it still paces.
      expect(budget.pace.clientsBehind).toBe(1);
      vi.setSystemTime(t0 + 800 + STALL_MS + 100);
      out.checkSlow(Date.now());
      expect(budget.pace.clientsBehind).toBe(0);
      // Stalled, its writes are not tallied…
      budget.pace.tally();
      out.push(Buffer.alloc(40));
      expect(budget.pace.tally()).toBe('ahead');
      // …until its socket takes something again and it is still behind.
      slowRead();
      expect(budget.pace.clientsBehind).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
