/**
 * The dialplan interpreter of the simulated PBX: runs an extension's priorities on a channel,
 * emitting `Newexten` for each, with the applications the simulated dialplan uses (Answer,
 * Wait, Set, UserEvent, Hangup, Busy, Congestion, Ringing, Dial, Echo, Playback, MusicOnHold,
 * While/EndWhile, Originate). Zero-time applications run back to back in one turn.
 */
import { ChanState, silentTracker, type SimChannel } from './channels.js';
import type { CallEngine, OriginateTarget } from './call-engine.js';
import type { Extension } from './dialplan.js';
import * as ev from './event-shapes.js';

/** What a channel running dialplan keeps in `SimChannel.program`. */
interface Program {
  readonly ext: Extension;
  /** When `Set(TIMEOUT(absolute)=…)` ends the call (epoch ms), 0 for never. */
  absTimeoutAt: number;
}

/** Seconds (possibly fractional) as ms; anything unparsable is 0. */
export function seconds(text: string | undefined): number {
  const n = Number.parseFloat(text ?? '');
  return Number.isFinite(n) && n > 0 ? n * 1000 : 0;
}

/** `$[a op b]` with integers, the only expressions the simulated dialplan needs. */
function evalExpr(text: string): string {
  const m = /^\$\[\s*(-?\d+)\s*(<=|>=|!=|[+\-*<>=])\s*(-?\d+)\s*\]$/.exec(text.trim());
  if (m === null) return text;
  const a = Number(m[1]);
  const b = Number(m[3]);
  switch (m[2]) {
    case '+':
      return String(a + b);
    case '-':
      return String(a - b);
    case '*':
      return String(a * b);
    case '<':
      return a < b ? '1' : '0';
    case '>':
      return a > b ? '1' : '0';
    case '<=':
      return a <= b ? '1' : '0';
    case '>=':
      return a >= b ? '1' : '0';
    case '=':
      return a === b ? '1' : '0';
    default:
      return a !== b ? '1' : '0';
  }
}

export class DialplanRunner {
  constructor(private readonly engine: CallEngine) {}

  runExtension(ch: SimChannel, context: string, exten: string, extension: Extension, priority: number): void {
    ch.dialplan = true;
    ch.context = context;
    ch.exten = exten;
    ch.priority = priority;
    ch.touch();
    if (ch.cdrDst === '') {
      ch.cdrDst = exten;
      ch.cdrDstContext = context;
    }
    ch.program = { ext: extension, absTimeoutAt: 0 } satisfies Program;
    this.step(ch);
  }

  private step(ch: SimChannel): void {
    // Zero-time applications run back to back; the loop stops at the first that takes time.
    for (;;) {
      if (ch.gone) return;
      const prog = ch.program as Program;
      const s = prog.ext.steps[ch.priority - 1];
      if (s === undefined) {
        this.engine.hangupChannel(ch, 16); // fell off the end of the extension
        return;
      }
      const data = this.subst(s.data, ch, 16);
      ch.app = s.app;
      ch.appData = data;
      ch.lastApp = s.app;
      ch.lastData = data;
      this.engine.emit(ev.newexten(ch, ch.exten, s.app, data));
      const wait = this.exec(ch, s.app, data, prog);
      if (wait === null || ch.gone) return;
      if (wait > 0) {
        ch.task = this.engine.after(wait, () => this.next(ch));
        return;
      }
      ch.priority++;
      ch.touch();
    }
  }

  next(ch: SimChannel): void {
    ch.task = null;
    if (ch.gone) return;
    ch.priority++;
    ch.touch();
    this.step(ch);
  }

  /** Runs one application; returns ms until the next priority, or null when it continues on its own. */
  private exec(ch: SimChannel, app: string, data: string, prog: Program): number | null {
    switch (app) {
      case 'NoOp':
      case 'Verbose':
        return 0;
      case 'Answer':
        if (ch.state === ChanState.Up) return 0;
        this.engine.answer(ch);
        return 500;
      case 'Wait':
        return seconds(data);
      case 'Set':
        this.set(ch, data, prog);
        return 0;
      case 'UserEvent': {
        const parts = data.split(',');
        this.engine.emit(ev.dialplanUserEvent(ch, parts[0] ?? '', parts.slice(1)));
        return 0;
      }
      case 'Hangup': {
        const cause = Number.parseInt(data, 10);
        this.engine.hangupChannel(ch, Number.isFinite(cause) ? cause : 16);
        return null;
      }
      case 'Busy':
        this.refuse(ch, 17, 'BUSY', 5);
        return seconds(data);
      case 'Congestion':
        this.refuse(ch, 34, 'CONGESTION', 8);
        return seconds(data);
      case 'Ringing':
        this.ringing(ch);
        return 0;
      case 'Dial':
        this.engine.dialer.dial(ch, data);
        return null;
      case 'Echo':
        return prog.absTimeoutAt > 0 ? Math.max(0, prog.absTimeoutAt - this.engine.env.timeline.nowMs()) : null;
      case 'Playback':
        return 2000;
      case 'MusicOnHold': {
        const parts = data.split(',');
        return parts.length > 1 ? seconds(parts[1]) : null;
      }
      case 'While': {
        if (data !== '0' && data !== '') return 0;
        const end = prog.ext.steps.findIndex((s, i) => i >= ch.priority && s.app === 'EndWhile');
        if (end >= 0) ch.priority = end + 1; // continue after the EndWhile
        return 0;
      }
      case 'EndWhile': {
        for (let i = ch.priority - 2; i >= 0; i--) {
          if (prog.ext.steps[i]!.app === 'While') {
            ch.priority = i; // next() moves on to the While itself
            break;
          }
        }
        return 0;
      }
      case 'Originate':
        this.dialplanOriginate(data);
        return 0;
      default:
        this.engine.hangupChannel(ch, 16); // no such application
        return null;
    }
  }

  /** `${EXTEN}`, `${EXTEN:1}`, `${CHANNEL}`, `${HANGUPCAUSE}`, variables; then `$[…]`. */
  private subst(text: string, ch: SimChannel, cause: number): string {
    if (!text.includes('$')) return text;
    const out = text.replace(/\$\{([^}:]+)(?::(-?\d+)(?::(\d+))?)?\}/g, (_m, name: string, off?: string, len?: string) => {
      let v: string;
      switch (name) {
        case 'EXTEN':
          v = ch.exten;
          break;
        case 'CHANNEL':
          v = ch.name;
          break;
        case 'HANGUPCAUSE':
          v = String(cause);
          break;
        case 'CONTEXT':
          v = ch.context;
          break;
        case 'UNIQUEID':
          v = ch.uniqueid;
          break;
        default:
          v = ch.vars.get(name) ?? this.engine.env.globals.get(name) ?? '';
      }
      if (off !== undefined) v = v.slice(Number(off));
      if (len !== undefined) v = v.slice(0, Number(len));
      return v;
    });
    return out.includes('$[') ? out.replace(/\$\[[^\]]*\]/g, (e) => evalExpr(e)) : out;
  }

  private set(ch: SimChannel, data: string, prog: Program): void {
    const eq = data.indexOf('=');
    if (eq <= 0) return;
    const name = data.slice(0, eq);
    const value = data.slice(eq + 1);
    if (name === 'CDR(userfield)') {
      ch.userField = value;
    } else if (name === 'TIMEOUT(absolute)') {
      prog.absTimeoutAt = this.engine.env.timeline.nowMs() + seconds(value);
    } else if (!name.includes('(')) {
      ch.vars.set(name, value);
      this.engine.emit(ev.varSet(ch, name, value));
    }
  }

  /** Ringing() on a Local ;2: its ;1 rings, and whoever dials it hears so. */
  ringing(ch: SimChannel): void {
    const p = ch.partner;
    if (p === null || p.gone || p.state === ChanState.Ringing) return;
    this.engine.setState(p, ChanState.Ringing);
    this.engine.emit(ev.dialState(p.dialedBy, p, 'RINGING'));
    this.engine.device(p, 'INUSE');
  }

  /** Busy()/Congestion(): the channel refuses; the ;1 it belongs to fails its originate or dial. */
  refuse(ch: SimChannel, cause: number, status: string, reason: number): void {
    this.engine.setState(ch, ChanState.Busy);
    ch.hangupCause = cause;
    this.engine.device(ch, 'INUSE');
    const p = ch.partner;
    if (p === null || p.gone) return;
    if (p.dialedBy !== null) {
      this.engine.dialer.legFailed(p.dialedBy, p, status, 0);
      return;
    }
    if (p.origin !== null) {
      this.engine.settleOrigin(p, false, reason);
      this.engine.emit(ev.dialEnd(null, p, status));
      this.engine.hangupChannel(p, 0);
    }
  }

  private dialplanOriginate(data: string): void {
    // Originate(tech/data,app|exten,arg1,arg2,arg3,timeout,options)
    const a = data.split(',');
    const type = (a[1] ?? '').toLowerCase();
    const target: OriginateTarget =
      type === 'exten'
        ? { context: a[2] ?? '', exten: a[3] ?? '', priority: Number.parseInt(a[4] ?? '1', 10) || 1 }
        : { app: a[2] ?? '', data: a[3] ?? '' };
    const timeoutS = Number.parseInt(a[5] ?? '', 10);
    this.engine.originate(
      { channel: a[0] ?? '', target, timeoutMs: Number.isFinite(timeoutS) ? timeoutS * 1000 : 30_000, variables: [] },
      silentTracker(),
    );
  }
}
