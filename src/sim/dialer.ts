/**
 * The Dial application of the simulated PBX: creates the outbound leg (a Local pair or a PJSIP
 * channel), follows it ringing, answering, refusing or timing out, bridges caller and callee
 * when it answers, and sets Dial's channel variables on the way, in the order of capture 07c.
 */
import { ChanState, UNKNOWN, type SimBridge, type SimChannel } from './channels.js';
import type { CallEngine } from './call-engine.js';
import { findExtension } from './dialplan.js';
import { seconds } from './dialplan-runner.js';
import * as ev from './event-shapes.js';

interface DialState {
  readonly dialString: string;
  readonly startedMs: number;
}

/** The variables Dial clears on the caller when it starts, in Asterisk's order. */
const DIAL_START_VARS = [
  'DIALEDPEERNUMBER',
  'DIALEDPEERNAME',
  'ANSWEREDTIME',
  'ANSWEREDTIME_MS',
  'DIALEDTIME',
  'DIALEDTIME_MS',
  'RINGTIME',
  'RINGTIME_MS',
  'PROGRESSTIME',
  'PROGRESSTIME_MS',
] as const;

export class Dialer {
  private readonly dials = new WeakMap<SimChannel, DialState>();

  constructor(private readonly engine: CallEngine) {}

  dial(caller: SimChannel, data: string): void {
    const parts = data.split(',');
    const target = parts[0] ?? '';
    const timeoutMs = seconds(parts[1]) || 0;
    this.engine.emit(ev.varSet(caller, 'DIALSTATUS', ''));
    // As captured (07c): the originate of a Local channel whose ;2 dials is reported at once.
    if (caller.partner !== null && caller.partner.origin !== null) this.engine.settleOrigin(caller.partner, true, 4);
    for (const v of DIAL_START_VARS) this.engine.emit(ev.varSet(caller, v, ''));
    const slash = target.indexOf('/');
    const tech = target.slice(0, slash).toLowerCase();
    const dest = target.slice(slash + 1);
    let leg: SimChannel | null = null;
    const startedMs = this.engine.env.timeline.nowMs();
    if (slash > 0 && tech === 'local') {
      const at = dest.indexOf('@');
      const exten = at >= 0 ? dest.slice(0, at) : dest;
      const context = at >= 0 ? dest.slice(at + 1) : 'default';
      this.dials.set(caller, { dialString: `${exten}@${context}`, startedMs });
      leg = this.localLeg(caller, exten, context);
    } else if (slash > 0 && tech === 'pjsip') {
      this.dials.set(caller, { dialString: dest, startedMs });
      leg = this.pjsipLeg(caller, dest);
    }
    if (leg === null) {
      if (!caller.gone) this.dialDone(caller, 'CHANUNAVAIL');
      return;
    }
    // The leg may already have answered or failed (Local legs run their dialplan at once).
    if (timeoutMs > 0 && !caller.gone && caller.dialing.includes(leg)) {
      caller.ringTimer = this.engine.after(timeoutMs, () => this.dialTimedOut(caller));
    }
  }

  private localLeg(caller: SimChannel, exten: string, context: string): SimChannel | null {
    const base = `Local/${exten}@${context}-${this.engine.env.ids.localSuffix()}`;
    const one = this.engine.create(base + ';1', 'Local', ChanState.Down, context, exten, { linkedid: caller.linkedid });
    const two = this.engine.create(base + ';2', 'Local', ChanState.Ring, context, exten, { linkedid: caller.linkedid });
    one.partner = two;
    two.partner = one;
    one.dialedBy = caller;
    one.cdr = false;
    caller.dialing.push(one);
    const dialString = `${exten}@${context}`;
    this.engine.emit(ev.newchannel(one));
    this.engine.emit(ev.newchannel(two));
    this.engine.emit(ev.varSet(one, 'DIALEDPEERNUMBER', dialString));
    one.exten = caller.exten;
    one.cidNum = caller.cidNum !== UNKNOWN ? caller.cidNum : caller.exten;
    one.cidName = caller.cidName;
    one.app = 'AppDial';
    one.appData = '(Outgoing Line)';
    one.touch();
    this.engine.emit(ev.newexten(one, one.exten, 'AppDial', '(Outgoing Line)'));
    this.engine.emit(ev.newCallerid(one));
    this.engine.emit(ev.varSet(two, 'DIALEDPEERNUMBER', dialString));
    two.connNum = one.cidNum;
    two.connName = one.cidName;
    two.touch();
    this.engine.emit(ev.newConnectedLine(two));
    const extension = findExtension(context, exten);
    if (extension === undefined) {
      caller.dialing = caller.dialing.filter((c) => c !== one);
      this.engine.finish(two, 0, 'INVALID');
      this.engine.finish(one, 0, 'INVALID');
      return null;
    }
    this.engine.emit(ev.localBridge(one, two, context, exten));
    this.engine.emit(ev.dialBegin(caller, one, dialString));
    this.engine.runner.runExtension(two, context, exten, extension, 1);
    return one;
  }

  private pjsipLeg(caller: SimChannel, dest: string): SimChannel | null {
    const ext = dest.split(/[@/]/)[0] ?? '';
    const b = this.engine.env.endpoint(ext);
    if (!b.exists) return null;
    const leg = this.engine.create(`PJSIP/${ext}-${this.engine.env.ids.pjsipSuffix()}`, 'PJSIP', ChanState.Down, caller.context, caller.exten, {
      linkedid: caller.linkedid,
    });
    leg.dialedBy = caller;
    leg.cdr = false;
    leg.cidNum = ext;
    leg.cidName = b.name;
    leg.connNum = caller.cidNum;
    leg.connName = caller.cidName;
    leg.app = 'AppDial';
    leg.appData = '(Outgoing Line)';
    leg.touch();
    caller.dialing.push(leg);
    this.engine.emit(ev.newchannel(leg));
    this.engine.emit(ev.dialBegin(caller, leg, ext));
    leg.task = this.engine.after(Math.min(80, b.ringMs), () => {
      leg.task = null;
      if (b.outcome === 'busy') {
        leg.hangupCause = 17;
        this.legFailed(caller, leg, 'BUSY', 17);
        return;
      }
      this.engine.setState(leg, ChanState.Ringing);
      this.engine.emit(ev.dialState(caller, leg, 'RINGING'));
      this.engine.device(leg, 'RINGING');
      if (b.outcome !== 'answer') return; // rings until the dial times out or the caller gives up
      leg.task = this.engine.after(Math.max(0, b.ringMs - 80), () => {
        leg.task = null;
        this.engine.setState(leg, ChanState.Up);
        leg.answeredMs = this.engine.env.timeline.nowMs();
        this.engine.device(leg, 'INUSE');
        this.legAnswered(caller, leg);
        if (b.talkMs !== null && !leg.gone) {
          const who = b.hangupBy === 'callee' ? leg : caller;
          leg.task = this.engine.after(b.talkMs, () => this.engine.remoteHangup(who));
        }
      });
    });
    return leg;
  }

  /** The dialled leg answered: Dial connects the caller to it in a new bridge. */
  legAnswered(caller: SimChannel, leg: SimChannel): void {
    if (caller.gone) {
      this.engine.hangupChannel(leg, 16);
      return;
    }
    const d = this.dials.get(caller);
    caller.dialing = caller.dialing.filter((c) => c !== leg);
    for (const other of caller.dialing.splice(0)) {
      this.engine.emit(ev.dialEnd(caller, other, 'CANCEL'));
      this.engine.hangupChannel(other, 26);
    }
    if (caller.ringTimer !== null) caller.ringTimer.cancelled = true;
    caller.ringTimer = null;
    caller.dialedPeer = leg;
    this.engine.emit(ev.varSet(caller, 'DIALSTATUS', 'ANSWER'));
    this.engine.emit(ev.varSet(caller, 'DIALEDPEERNAME', leg.name));
    this.engine.emit(ev.varSet(caller, 'DIALEDPEERNUMBER', d?.dialString ?? ''));
    this.engine.emit(ev.dialEnd(caller, leg, 'ANSWER'));
    this.engine.answer(caller);
    if (caller.gone || leg.gone) return;
    const bridge: SimBridge = { id: this.engine.env.ids.bridgeId(), members: [] };
    this.engine.emit(ev.bridgeCreate(bridge));
    leg.exten = '';
    leg.touch();
    this.engine.emit(ev.newexten(leg, '', 'AppDial', '(Outgoing Line)'));
    for (const m of [leg, caller]) {
      bridge.members.push(m);
      m.bridge = bridge;
      this.engine.emit(ev.bridgeEnter(bridge, m));
    }
    this.engine.emit(ev.varSet(leg, 'BRIDGEPEER', caller.name));
    this.engine.emit(ev.varSet(caller, 'BRIDGEPEER', leg.name));
  }

  /** A dialled leg ended before answering (busy, congestion, unavailable). */
  legFailed(caller: SimChannel, leg: SimChannel, status: string, cause: number): void {
    caller.dialing = caller.dialing.filter((c) => c !== leg);
    this.engine.emit(ev.dialEnd(caller, leg, status));
    this.engine.hangupChannel(leg, cause);
    if (!caller.gone && caller.dialing.length === 0) {
      if (cause !== 0) caller.hangupCause ??= cause;
      this.dialDone(caller, status);
    }
  }

  private dialTimedOut(caller: SimChannel): void {
    caller.ringTimer = null;
    if (caller.gone) return;
    for (const leg of caller.dialing.splice(0)) {
      this.engine.emit(ev.dialEnd(caller, leg, 'NOANSWER'));
      this.engine.hangupChannel(leg, 19);
    }
    this.dialDone(caller, 'NOANSWER');
  }

  /** Dial returns without a connection: DIALSTATUS, then the next priority. */
  dialDone(caller: SimChannel, status: string): void {
    if (caller.ringTimer !== null) caller.ringTimer.cancelled = true;
    caller.ringTimer = null;
    this.engine.emit(ev.varSet(caller, 'DIALSTATUS', status));
    if (caller.partner !== null && caller.partner.origin !== null && !caller.partner.origin.settled) {
      this.engine.settleOrigin(caller.partner, false, status === 'BUSY' ? 5 : status === 'CONGESTION' ? 8 : 0);
    }
    caller.task = this.engine.after(0, () => this.engine.runner.next(caller));
  }

  /** The bridge a Dial made has ended: Dial's closing variables on the caller. */
  dialEnded(caller: SimChannel): void {
    const d = this.dials.get(caller);
    if (d === undefined) return;
    this.dials.delete(caller);
    const now = this.engine.env.timeline.nowMs();
    const answeredMs = caller.dialedPeer?.answeredMs || now;
    const talk = now - answeredMs;
    const dialed = now - d.startedMs;
    this.engine.emit(ev.varSet(caller, 'ANSWEREDTIME', String(Math.floor(talk / 1000))));
    this.engine.emit(ev.varSet(caller, 'ANSWEREDTIME_MS', String(Math.floor(talk))));
    this.engine.emit(ev.varSet(caller, 'DIALEDTIME', String(Math.floor(dialed / 1000))));
    this.engine.emit(ev.varSet(caller, 'DIALEDTIME_MS', String(Math.floor(dialed))));
    this.engine.emit(ev.varSet(caller, 'DIALSTATUS', 'ANSWER'));
  }
}
