import { describe, expect, it } from 'vitest';
import { InputPacer, type InputSink } from '../src/clients/shared/input-pacer.js';

/** A socket stand-in that records pause/resume, and a sink that records what it is handed. */
function setup(sliceBytes: number, sink: Partial<InputSink> = {}) {
  const socket = { paused: false, pause() { this.paused = true; return this; }, resume() { this.paused = false; return this; } };
  const consumed: string[] = [];
  const pacer = new InputPacer(socket as never, { consume: (b) => consumed.push(b.toString('latin1')), delay: () => 0, ...sink }, sliceBytes);
  return { socket, consumed, pacer };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('InputPacer', () => {
  it('hands small input over at once, in the same turn, and leaves the socket flowing', () => {
    const { socket, consumed, pacer } = setup(64);
    pacer.push(Buffer.from('Action: Ping\r\n\r\n'));
    expect(consumed).toEqual(['Action: Ping\r\n\r\n']);
    expect(socket.paused).toBe(false);
  });

  it('hands a big read over one slice a turn, each ending after a line end, the socket paused meanwhile', async () => {
    const { socket, consumed, pacer } = setup(16);
    const lines = Array.from({ length: 6 }, (_, i) => `line-${i}\n`).join(''); // 7 bytes each
    pacer.push(Buffer.from(lines));
    expect(consumed).toEqual(['line-0\nline-1\n']);
    expect(socket.paused).toBe(true);
    expect(pacer.waiting).toBe(28);
    await turn();
    expect(consumed).toEqual(['line-0\nline-1\n', 'line-2\nline-3\n']);
    await turn();
    await turn();
    expect(consumed.join('')).toBe(lines);
    expect(socket.paused).toBe(false);
  });

  it('cuts a line longer than a slice where the slice ends', () => {
    const { consumed, pacer } = setup(4);
    pacer.push(Buffer.from('abcdefgh\n'));
    expect(consumed).toEqual(['abcd']);
  });

  it('waits while delay() says so: for a time, or until kick()', async () => {
    let wait = Infinity;
    const { socket, consumed, pacer } = setup(64, { delay: () => wait });
    pacer.push(Buffer.from('a\n'));
    expect(consumed).toEqual([]);
    expect(socket.paused).toBe(true);
    await turn();
    expect(consumed).toEqual([]);
    wait = 0;
    pacer.kick();
    await turn();
    expect(consumed).toEqual(['a\n']);
    expect(socket.paused).toBe(false);
    wait = 30;
    const start = Date.now();
    pacer.push(Buffer.from('b\n'));
    wait = 0;
    while (consumed.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(Date.now() - start).toBeGreaterThanOrEqual(25);
  });

  it('hands over no more than allowance() bytes before asking again', () => {
    const allowances = [3, 2, 100];
    const { consumed, pacer } = setup(64, { allowance: () => allowances.shift() ?? 100 });
    pacer.push(Buffer.from('abcdefgh'));
    expect(consumed).toEqual(['abc', 'de', 'fgh']);
  });

  it('holds everything from hold() to release(), what is pushed meanwhile included', async () => {
    const { socket, consumed, pacer } = setup(64, {});
    pacer.hold();
    expect(socket.paused).toBe(true);
    pacer.push(Buffer.from('a\n'));
    await turn();
    expect(consumed).toEqual([]);
    pacer.release();
    await turn();
    expect(consumed).toEqual(['a\n']);
    expect(socket.paused).toBe(false);
  });

  it('a hold() from inside consume() stops the rest of the turn', async () => {
    const box: { pacer?: InputPacer } = {};
    const consumed: string[] = [];
    const socket = { pause() { return this; }, resume() { return this; } };
    const pacer = new InputPacer(socket as never, {
      consume: (b) => {
        consumed.push(b.toString('latin1'));
        box.pacer!.hold();
      },
      delay: () => 0,
    }, 2);
    box.pacer = pacer;
    pacer.push(Buffer.from('a\nb\n'));
    await turn();
    expect(consumed).toEqual(['a\n']);
    pacer.release();
    await turn();
    expect(consumed).toEqual(['a\n', 'b\n']);
  });
});
