/**
 * The call engine: runs simulated calls on the channel table and emits their events in the
 * shapes and order of captures 07a–07d. It knows Local channel pairs (;1/;2), PJSIP endpoints,
 * the dialplan applications the `test` and `from-internal` contexts use (Answer, Wait, Dial,
 * Busy, Congestion, Ringing, UserEvent, Set, While/EndWhile, Originate, Hangup…), bridges,
 * hangup propagation (partner, bridge peer, dial legs) and CDRs.
 *
 * It never touches sockets or real timers: time comes from its Timeline, events go to its
 * sink. The PBX runs one engine on the wall clock for Originate; the traffic generator runs
 * another on its own virtual clock.
 */
import { ChanState, SimChannel, UNKNOWN, type ChannelTable, type IdSource, type OriginTracker } from './channels.js';
import { findExtension } from './dialplan.js';
import { Dialer } from './dialer.js';
import { DialplanRunner, seconds } from './dialplan-runner.js';
import * as ev from './event-shapes.js';
import type { TaskHandle, Timeline } from './timeline.js';

export { silentTracker } from './channels.js';

/** How a PJSIP endpoint behaves when called. */
export interface EndpointBehaviour {
  readonly exists: boolean;
  readonly outcome: 'answer' | 'busy' | 'noanswer';
  /** How long it rings before answering (or before reporting busy). */
  readonly ringMs: number;
  /** After answering, the phone hangs up after this long (null: it never does by itself). */
  readonly talkMs: number | null;
  /** Which side hangs up after talkMs: the called phone, or the caller. */
  readonly hangupBy: 'callee' | 'caller';
  readonly name: string;
}

export interface EngineEnv {
  readonly timeline: Timeline;
  readonly channels: ChannelTable;
  readonly ids: IdSource;
  /** Global dialplan variables (Setvar/Getvar without Channel). */
  readonly globals: Map<string, string>;
  emit(event: ev.SimEvent): void;
  endpoint(ext: string): EndpointBehaviour;
}

export type OriginateTarget =
  | { readonly app: string; readonly data: string }
  | { readonly context: string; readonly exten: string; readonly priority: number };

export interface OriginateRequest {
  /** As given in `Channel:` (`Local/100@test`, `PJSIP/1001`). */
  readonly channel: string;
  readonly target: OriginateTarget;
  readonly timeoutMs: number;
  readonly callerId?: { readonly num: string; readonly name: string } | undefined;
  readonly variables: ReadonlyArray<readonly [string, string]>;
  readonly channelId?: string | undefined;
  readonly otherChannelId?: string | undefined;
  readonly account?: string | undefined;
}


/** Dial status for a leg that ended with `cause` before answering. */
function dialStatusFor(cause: number): string {
  if (cause === 17) return 'BUSY';
  if (cause === 34) return 'CONGESTION';
  if (cause === 19) return 'NOANSWER';
  return 'CHANUNAVAIL';
}

function dispositionFor(ch: SimChannel, cause: number): ev.Disposition {
  if (ch.answeredMs > 0) return 'ANSWERED';
  if (cause === 17) return 'BUSY';
  if (cause === 34) return 'CONGESTION';
  if (cause === 19 || cause === 16) return 'NO ANSWER';
  return 'FAILED';
}

export class CallEngine {
  /** Runs dialplan on channels. */
  readonly runner = new DialplanRunner(this);
  /** The Dial application. */
  readonly dialer = new Dialer(this);

  constructor(readonly env: EngineEnv) {}

  // ---------------------------------------------------------------- channels

  create(
    name: string,
    tech: 'Local' | 'PJSIP',
    state: ChanState,
    context: string,
    exten: string,
    ids: { uniqueid?: string | undefined; linkedid?: string | undefined } = {},
  ): SimChannel {
    const now = this.env.timeline.nowMs();
    const uniqueid = ids.uniqueid !== undefined && ids.uniqueid !== '' ? ids.uniqueid : this.env.ids.uniqueid(now);
    const ch = new SimChannel(name, uniqueid, tech, { state, context, exten, linkedid: ids.linkedid, createdMs: now });
    ch.owner = this;
    this.env.channels.add(ch);
    return ch;
  }

  emit(e: ev.SimEvent): void {
    this.env.emit(e);
  }

  after(ms: number, fn: () => void): TaskHandle {
    return this.env.timeline.after(ms, fn);
  }

  setState(ch: SimChannel, state: ChanState): void {
    ch.state = state;
    ch.touch();
    this.emit(ev.newstate(ch));
  }

  device(ch: SimChannel, state: string): void {
    this.emit(ev.deviceStateChange(ch.device, state));
  }

  // ---------------------------------------------------------------- originate

  /** Starts an Originate; its outcome goes to `tracker` (never synchronously). */
  originate(req: OriginateRequest, tracker: OriginTracker): void {
    const slash = req.channel.indexOf('/');
    const tech = slash > 0 ? req.channel.slice(0, slash).toLowerCase() : '';
    const dest = slash > 0 ? req.channel.slice(slash + 1) : '';
    if (tech === 'local' && dest !== '') this.originateLocal(req, dest, tracker);
    else if (tech === 'pjsip' && dest !== '') this.originatePjsip(req, dest, tracker);
    else this.after(0, () => tracker.settle(false, 0, null));
  }

  private applyCallerId(ch: SimChannel, req: OriginateRequest, connectedToo: boolean): void {
    const cid = req.callerId;
    if (cid === undefined) return;
    ch.cidNum = cid.num === '' ? UNKNOWN : cid.num;
    ch.cidName = cid.name === '' ? UNKNOWN : cid.name;
    if (connectedToo) {
      ch.connNum = ch.cidNum;
      ch.connName = ch.cidName;
    }
    ch.touch();
  }

  private originateLocal(req: OriginateRequest, dest: string, tracker: OriginTracker): void {
    // Local/exten@context[/options]
    const opt = dest.indexOf('/');
    const spec = opt >= 0 ? dest.slice(0, opt) : dest;
    const at = spec.indexOf('@');
    const exten = at >= 0 ? spec.slice(0, at) : spec;
    const context = at >= 0 ? spec.slice(at + 1) : 'default';
    const base = `Local/${exten}@${context}-${this.env.ids.localSuffix()}`;
    const one = this.create(base + ';1', 'Local', ChanState.Down, context, exten, { uniqueid: req.channelId });
    const two = this.create(base + ';2', 'Local', ChanState.Ring, context, exten, {
      uniqueid: req.otherChannelId,
      linkedid: one.uniqueid,
    });
    one.partner = two;
    two.partner = one;
    one.origin = tracker;
    one.app = 'AppDial2';
    one.appData = '(Outgoing Line)';
    if (req.account !== undefined) {
      one.accountCode = two.accountCode = req.account;
      one.touch();
      two.touch();
    }
    this.emit(ev.newchannel(one));
    this.emit(ev.newchannel(two));
    this.emit(ev.newexten(one, exten, 'AppDial2', '(Outgoing Line)'));
    for (let i = req.variables.length - 1; i >= 0; i--) {
      const [name, value] = req.variables[i]!;
      one.vars.set(name, value);
      this.emit(ev.varSet(one, name, value));
    }
    if (req.callerId !== undefined) {
      this.applyCallerId(one, req, false);
      this.emit(ev.newCallerid(one));
      one.connNum = one.cidNum;
      one.connName = one.cidName;
      one.touch();
      this.emit(ev.newConnectedLine(one));
    }
    for (const [name, value] of req.variables) {
      two.vars.set(name, value);
      this.emit(ev.varSet(two, name, value));
    }
    if (req.callerId !== undefined) {
      this.applyCallerId(two, req, true);
      this.emit(ev.newCallerid(two));
      this.emit(ev.newConnectedLine(two));
    }
    one.program = req.target;

    const extension = findExtension(context, exten);
    if (extension === undefined) {
      // No such context or extension: the ;2 half dies at once, the originate fails (Reason 0).
      this.finish(two, 0, 'INVALID');
      tracker.settle(false, 0, null);
      this.finish(one, 0, 'INVALID');
      return;
    }
    this.emit(ev.localBridge(one, two, context, exten));
    this.emit(ev.dialBegin(null, one, `${exten}@${context}`));
    one.ringTimer = this.after(req.timeoutMs, () => this.originTimedOut(one));
    this.runner.runExtension(two, context, exten, extension, 1);
  }

  private originatePjsip(req: OriginateRequest, dest: string, tracker: OriginTracker): void {
    const ext = dest.split(/[@/]/)[0] ?? '';
    const b = this.env.endpoint(ext);
    if (!b.exists) {
      this.after(0, () => tracker.settle(false, 0, null));
      return;
    }
    const ch = this.create(`PJSIP/${ext}-${this.env.ids.pjsipSuffix()}`, 'PJSIP', ChanState.Down, 'from-internal', 's', {
      uniqueid: req.channelId,
    });
    ch.origin = tracker;
    ch.program = req.target;
    ch.app = 'AppDial2';
    ch.appData = '(Outgoing Line)';
    if (req.account !== undefined) ch.accountCode = req.account;
    this.emit(ev.newchannel(ch));
    for (const [name, value] of req.variables) {
      ch.vars.set(name, value);
      this.emit(ev.varSet(ch, name, value));
    }
    if (req.callerId !== undefined) {
      this.applyCallerId(ch, req, false);
      this.emit(ev.newCallerid(ch));
    }
    ch.ringTimer = this.after(req.timeoutMs, () => this.originTimedOut(ch));
    ch.task = this.after(Math.min(100, b.ringMs), () => {
      this.setState(ch, ChanState.Ringing);
      this.device(ch, 'RINGING');
      ch.task = this.after(Math.max(0, b.ringMs - 100), () => {
        if (b.outcome === 'busy') {
          ch.hangupCause = 17;
          this.settleOrigin(ch, false, 5);
          this.hangupChannel(ch, 17);
        } else if (b.outcome === 'answer') {
          this.setState(ch, ChanState.Up);
          ch.answeredMs = this.env.timeline.nowMs();
          this.device(ch, 'INUSE');
          this.originAnswered(ch);
        }
      });
    });
  }

  settleOrigin(ch: SimChannel, success: boolean, reason: number): void {
    const o = ch.origin;
    if (o === null || o.settled) return;
    o.settle(success, reason, success ? ch : null);
  }

  private originTimedOut(ch: SimChannel): void {
    ch.ringTimer = null;
    if (ch.gone || ch.origin === null || ch.origin.settled) return;
    this.settleOrigin(ch, false, 3);
    this.hangupChannel(ch, 19);
  }

  /** The originated channel answered: report it and run what the Originate asked for. */
  private originAnswered(ch: SimChannel): void {
    if (ch.ringTimer !== null) ch.ringTimer.cancelled = true;
    ch.ringTimer = null;
    if (ch.tech === 'Local') this.emit(ev.dialEnd(null, ch, 'ANSWER'));
    this.settleOrigin(ch, true, 4);
    const target = ch.program as OriginateTarget;
    if ('app' in target) {
      this.runApp(ch, target.app, target.data);
    } else {
      const extension = findExtension(target.context, target.exten);
      if (extension === undefined) {
        this.hangupChannel(ch, 16);
        return;
      }
      this.runner.runExtension(ch, target.context, target.exten, extension, target.priority);
    }
  }

  /** An application run directly on a channel (Originate with Application:), then hang up. */
  private runApp(ch: SimChannel, app: string, data: string): void {
    ch.app = app;
    ch.appData = data;
    ch.lastApp = app;
    ch.lastData = data;
    if (ch.cdrDst === '') {
      ch.cdrDst = ch.exten;
      ch.cdrDstContext = ch.context;
    }
    let ms: number | null;
    switch (app.toLowerCase()) {
      case 'wait':
        ms = seconds(data);
        break;
      case 'playback':
        ms = 2000;
        break;
      case 'musiconhold':
        ms = data.includes(',') ? seconds(data.split(',')[1]) : null;
        break;
      case 'echo':
      case 'park':
        ms = null;
        break;
      default:
        ms = 0;
    }
    if (ms !== null) ch.task = this.after(ms, () => this.hangupChannel(ch, 16));
  }

  /** A channel answers. A Local ;2 answering answers its ;1, which then reports to its dialler or originator. */
  answer(ch: SimChannel): void {
    if (ch.state === ChanState.Up) return;
    const now = this.env.timeline.nowMs();
    this.setState(ch, ChanState.Up);
    ch.answeredMs = now;
    const p = ch.partner;
    if (p === null || p.gone || p.state === ChanState.Up) {
      this.device(ch, 'INUSE');
      return;
    }
    this.setState(p, ChanState.Up);
    p.answeredMs = now;
    if (p.dialedBy !== null) this.dialer.legAnswered(p.dialedBy, p);
    else if (p.origin !== null) this.originAnswered(p);
    // As in capture 07a: the device states follow the answer and what it set off.
    this.device(ch, 'INUSE');
    this.device(p, 'INUSE');
  }

  // ---------------------------------------------------------------- hangup

  /** The far end of `ch` hangs up (a phone's BYE): no SoftHangupRequest, a HangupRequest instead. */
  remoteHangup(ch: SimChannel): void {
    if (ch.gone) return;
    this.emit(ev.hangupRequest(ch, 16));
    this.hangupChannel(ch, 16, false);
  }

  /**
   * Hangs `ch` up with `cause` and everything that follows from it: its `h` extension, its
   * Local partner, its bridge peer, the legs it was dialling, its dialler's Dial, its CDR.
   */
  hangupChannel(ch: SimChannel, cause: number, soft = true): void {
    if (ch.gone) return;
    ch.gone = true;
    if (ch.task !== null) ch.task.cancelled = true;
    if (ch.ringTimer !== null) ch.ringTimer.cancelled = true;
    ch.task = ch.ringTimer = null;
    const eff = ch.hangupCause ?? cause;
    if (ch.origin !== null && !ch.origin.settled) this.settleOrigin(ch, false, 1);

    for (const leg of ch.dialing.splice(0)) {
      this.emit(ev.dialEnd(ch, leg, 'CANCEL'));
      this.hangupChannel(leg, 16);
    }
    if (ch.dialplan) {
      if (soft) this.emit(ev.softHangupRequest(ch, 16));
      if (ch.exten !== 'h' && findExtension(ch.context, 'h') !== undefined) {
        ch.exten = 'h';
        ch.priority = 1;
        ch.touch();
        this.emit(ev.newexten(ch, 'h', 'NoOp', `hangup handler ${ch.name} cause ${eff}`));
        ch.priority = 2;
        ch.touch();
      }
    }
    const partner = ch.partner !== null && !ch.partner.gone ? ch.partner : null;
    if (partner !== null) this.emit(ev.hangupRequest(partner, eff));

    const bridge = ch.bridge;
    if (bridge !== null) {
      const peer = bridge.members.find((m) => m !== ch);
      this.emit(ev.varSet(ch, 'BRIDGEPEER', ''));
      if (peer !== undefined) this.emit(ev.varSet(peer, 'BRIDGEPEER', ''));
      bridge.members.splice(bridge.members.indexOf(ch), 1);
      ch.bridge = null;
      this.emit(ev.bridgeLeave(bridge, ch));
    }
    this.finish(ch, eff);

    // A leg that never answered: its dialler's Dial fails.
    const caller = ch.dialedBy;
    if (caller !== null && !caller.gone && caller.dialing.includes(ch)) {
      caller.dialing = caller.dialing.filter((c) => c !== ch);
      this.emit(ev.dialEnd(caller, ch, dialStatusFor(eff)));
      if (caller.dialing.length === 0) this.dialer.dialDone(caller, dialStatusFor(eff));
    }
    if (bridge !== null && bridge.members.length <= 1) {
      const rest = bridge.members.pop();
      if (rest !== undefined) {
        rest.bridge = null;
        this.emit(ev.bridgeLeave(bridge, rest));
      }
      this.emit(ev.bridgeDestroy(bridge));
      if (rest !== undefined && !rest.gone) {
        this.dialer.dialEnded(rest);
        this.hangupChannel(rest, 16);
      }
    }
    if (partner !== null) this.hangupChannel(partner, eff);
  }

  /** The Hangup event, the CDR, the device state; the channel leaves the table. */
  finish(ch: SimChannel, cause: number, deviceState = 'NOT_INUSE'): void {
    ch.gone = true;
    if (ch.task !== null) ch.task.cancelled = true;
    if (ch.ringTimer !== null) ch.ringTimer.cancelled = true;
    this.emit(ev.hangup(ch, cause));
    this.env.channels.remove(ch);
    const now = this.env.timeline.nowMs();
    const postCdr = ch.cdr && (ch.answeredMs > 0 || (ch.tech === 'PJSIP' && ch.dialplan));
    if (ch.cdrDst === '') {
      ch.cdrDst = ch.exten;
      ch.cdrDstContext = ch.context;
    }
    // Capture 07a: a dialplan channel posts its CDR before its device state, an app-only one after.
    if (postCdr && ch.dialplan) this.emit(ev.cdr(ch, now, dispositionFor(ch, cause)));
    this.device(ch, deviceState);
    if (postCdr && !ch.dialplan) this.emit(ev.cdr(ch, now, dispositionFor(ch, cause)));
  }

  // ---------------------------------------------------------------- traffic

  /** A call from PJSIP endpoint `from` to extension `to` in `from-internal` (background traffic). */
  inboundCall(from: string, to: string, name: string, abandonMs: number | null): SimChannel | null {
    const extension = findExtension('from-internal', to);
    if (extension === undefined) return null;
    const ch = this.create(`PJSIP/${from}-${this.env.ids.pjsipSuffix()}`, 'PJSIP', ChanState.Ring, 'from-internal', to);
    ch.cidNum = from;
    ch.cidName = name;
    ch.dnid = to;
    ch.touch();
    this.emit(ev.newchannel(ch));
    this.runner.runExtension(ch, 'from-internal', to, extension, 1);
    if (abandonMs !== null && !ch.gone) {
      // The caller gives up if nobody has answered by then.
      this.after(abandonMs, () => {
        if (!ch.gone && ch.state !== ChanState.Up) this.remoteHangup(ch);
      });
    }
    return ch;
  }
}
