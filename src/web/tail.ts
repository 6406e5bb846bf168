/**
 * The live tail of the status page: the user's events from the page's WebSocket (amiplex.js,
 * which opens it again after a break and resumes after the last event seen), one line each,
 * the last `max` kept. A filter shows the lines holding every word typed (event name, channel,
 * any value: case ignored); pausing freezes the view while events keep being counted and kept.
 */
import type { AmiplexSocket } from './amiplex.js';
import { el } from './dom.js';
import { clock, formatCount } from './format.js';
import type { AmiEvent } from './types.js';

interface Line {
  readonly haystack: string;
  readonly build: () => HTMLElement;
  node: HTMLElement | undefined;
}

/**
 * What a line shows after the event name: the channel, then what is particular to the event (a
 * VarSet's variable, a Hangup's cause…) in its order, then the channel's state and dialplan
 * place. The rest of the channel snapshot, and values that say nothing, are left out (the
 * filter still searches them).
 */
const LEAD = ['Channel'];
const TRAIL = ['ChannelStateDesc', 'CallerIDNum', 'Exten', 'Context', 'Uniqueid'];
const HIDDEN = new Set([
  'Event', 'Privilege', 'Server', 'SystemName', 'SequenceNumber', 'File', 'Line', 'Func', 'ActionID',
  'ChannelState', 'CallerIDName', 'ConnectedLineNum', 'ConnectedLineName', 'Language', 'AccountCode', 'Priority', 'Linkedid', 'Tenantid',
]);
const SAYS_NOTHING = new Set(['', '<unknown>']);
const MAX_PAIRS = 8;
/** Within this many pixels of the bottom, the view follows new lines. */
const STICK_PX = 40;

export class EventTail {
  private lines: Line[] = [];
  private terms: string[] = [];
  private paused = false;
  private unseen = 0;
  private received = 0;
  private queued: Line[] = [];
  private frame = 0;
  private countTimer = 0;

  constructor(
    private readonly box: HTMLElement,
    private readonly state: HTMLElement,
    private readonly counter: HTMLElement,
    private readonly max: number,
  ) {}

  /** Shows the events of `socket`, and its state. */
  attach(socket: AmiplexSocket): void {
    const states = { connecting: 'connecting…', open: 'live', closed: 'disconnected' } as const;
    const show = (state: keyof typeof states) => this.setState(state === 'open' ? 'live' : state === 'closed' ? 'down' : 'connecting', states[state]);
    show(socket.state);
    socket.on('state', (state) => show(state));
    socket.on('event', (event) => this.add(event, JSON.stringify(event)));
  }

  /** Words that every shown line must hold (case ignored); empty shows all. */
  setFilter(text: string): void {
    this.terms = text.toLowerCase().split(/\s+/).filter((t) => t !== '');
    if (!this.paused) this.rebuild();
    this.showCount();
  }

  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.unseen = 0;
    if (!paused) this.rebuild();
    this.showCount();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  clear(): void {
    this.lines = [];
    this.queued = [];
    this.unseen = 0;
    this.box.replaceChildren();
    this.showCount();
  }

  private add(event: AmiEvent, raw: string): void {
    this.received++;
    const line = lineOf(event, raw, new Date());
    this.lines.push(line);
    if (this.lines.length > this.max) {
      const gone = this.lines.shift()!;
      if (!this.paused) gone.node?.remove();
      gone.node = undefined;
      const q = this.queued.indexOf(gone);
      if (q >= 0) this.queued.splice(q, 1);
    }
    if (this.paused) {
      this.unseen++;
    } else if (this.matches(line)) {
      this.queued.push(line);
      this.frame ||= requestAnimationFrame(() => this.flush());
    }
    this.showCountSoon();
  }

  private matches(line: Line): boolean {
    return this.terms.every((t) => line.haystack.includes(t));
  }

  /** Appends the lines that came since the last frame, following the bottom when the view was there. */
  private flush(): void {
    this.frame = 0;
    if (this.paused || this.queued.length === 0) return;
    const stick = this.atBottom();
    const fragment = document.createDocumentFragment();
    for (const line of this.queued) fragment.append((line.node = line.build()));
    this.queued = [];
    this.box.append(fragment);
    if (stick) this.box.scrollTop = this.box.scrollHeight;
  }

  private rebuild(): void {
    this.queued = [];
    const nodes: HTMLElement[] = [];
    for (const line of this.lines) {
      if (this.matches(line)) nodes.push((line.node ??= line.build()));
      else line.node = undefined;
    }
    this.box.replaceChildren(...nodes);
    this.box.scrollTop = this.box.scrollHeight;
  }

  private atBottom(): boolean {
    return this.box.scrollHeight - this.box.scrollTop - this.box.clientHeight < STICK_PX;
  }

  private setState(state: string, text: string): void {
    this.state.dataset.state = state;
    this.state.textContent = text;
  }

  private showCountSoon(): void {
    this.countTimer ||= window.setTimeout(() => {
      this.countTimer = 0;
      this.showCount();
    }, 250);
  }

  private showCount(): void {
    const shown = this.terms.length === 0 ? this.lines.length : this.lines.filter((l) => this.matches(l)).length;
    const parts = [`${formatCount(shown)} shown`, `last ${formatCount(this.max)} kept`, `${formatCount(this.received)} received`];
    if (this.paused) parts.unshift(`paused, ${formatCount(this.unseen)} new`);
    this.counter.textContent = parts.join(' · ');
  }
}

function text(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.join(', ');
}

/** One line: time, server, event name, and the headers that say what it is about. */
function lineOf(event: AmiEvent, raw: string, at: Date): Line {
  const name = text(event.Event) || '(no Event)';
  const server = text(event.Server);
  const special = Object.keys(event).filter((k) => !HIDDEN.has(k) && !LEAD.includes(k) && !TRAIL.includes(k) && !k.startsWith('Dest'));
  const pairs: string[] = [];
  for (const key of [...LEAD, ...special, 'DestChannel', ...TRAIL]) {
    if (pairs.length >= MAX_PAIRS) break;
    const v = text(event[key]);
    if (!SAYS_NOTHING.has(v)) pairs.push(`${key}=${v}`);
  }
  const details = pairs.join('  ');
  const time = clock(at);
  return {
    haystack: `${name} ${server} ${raw}`.toLowerCase(),
    node: undefined,
    build: () =>
      el(
        'div',
        { className: `line ${categoryOf(name)}`, attrs: { 'data-event': name } },
        el('span', { className: 'time', text: time }),
        el('span', { className: 'server', text: server }),
        el('span', { className: 'name', text: name }),
        el('span', { className: 'details', text: details }),
      ),
  };
}

function categoryOf(name: string): string {
  if (name === 'OriginateResponse') return 'ev-originate';
  if (name.startsWith('Proxy')) return 'ev-proxy';
  if (name === 'Hangup' || name === 'HangupRequest' || name === 'SoftHangupRequest') return 'ev-hangup';
  if (name === 'Newchannel' || name.startsWith('Dial') || name.startsWith('Bridge')) return 'ev-call';
  return 'ev-other';
}
