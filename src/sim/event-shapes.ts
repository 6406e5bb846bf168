/**
 * Event builders: each returns the event as Asterisk 22 writes it (header names, order and
 * case as in the captures), as a byte string ending with the blank line, plus its category
 * (the classes of its `Privilege:` header) for per-session filtering. Built as plain string
 * concatenation over cached channel snapshots: the flood generator calls these millions of times.
 */
import { hms, UNKNOWN, type SimBridge, type SimChannel } from './channels.js';
import { PERM } from './permissions.js';

export interface SimEvent {
  /** Permission classes of the event (what `Privilege:` names, without `all`). */
  readonly cat: number;
  /** The whole event, CRLF line endings and the final blank line included (byte string). */
  readonly text: string;
}

const CALL = 'Privilege: call,all\r\n';
const DIALPLAN = 'Privilege: dialplan,all\r\n';

function callEvent(name: string, body: string): SimEvent {
  return { cat: PERM.call, text: 'Event: ' + name + '\r\n' + CALL + body + '\r\n' };
}

function dialplanEvent(name: string, body: string): SimEvent {
  return { cat: PERM.dialplan, text: 'Event: ' + name + '\r\n' + DIALPLAN + body + '\r\n' };
}

const CAUSE_TEXT: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'Unallocated (unassigned) number',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  21: 'Call Rejected',
  34: 'Circuit/channel congestion',
};

export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

export function newchannel(ch: SimChannel): SimEvent {
  return callEvent('Newchannel', ch.snapshot());
}

export function newstate(ch: SimChannel): SimEvent {
  return callEvent('Newstate', ch.snapshot());
}

export function newCallerid(ch: SimChannel): SimEvent {
  return callEvent('NewCallerid', ch.snapshot() + 'CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n');
}

export function newConnectedLine(ch: SimChannel): SimEvent {
  return callEvent('NewConnectedLine', ch.snapshot());
}

export function newexten(ch: SimChannel, extension: string, app: string, appData: string): SimEvent {
  return dialplanEvent(
    'Newexten',
    ch.snapshot() + 'Extension: ' + extension + '\r\nApplication: ' + app + '\r\nAppData: ' + appData + '\r\n',
  );
}

export function varSet(ch: SimChannel, variable: string, value: string): SimEvent {
  return dialplanEvent('VarSet', ch.snapshot() + 'Variable: ' + variable + '\r\nValue: ' + value + '\r\n');
}

export function hangupRequest(ch: SimChannel, cause: number): SimEvent {
  return callEvent('HangupRequest', ch.snapshot() + 'Cause: ' + cause + '\r\n');
}

export function softHangupRequest(ch: SimChannel, cause: number): SimEvent {
  return callEvent('SoftHangupRequest', ch.snapshot() + 'Cause: ' + cause + '\r\n');
}

export function hangup(ch: SimChannel, cause: number): SimEvent {
  return callEvent('Hangup', ch.snapshot() + 'Cause: ' + cause + '\r\nCause-txt: ' + causeText(cause) + '\r\n');
}

export function localBridge(one: SimChannel, two: SimChannel, context: string, exten: string): SimEvent {
  return callEvent(
    'LocalBridge',
    one.prefixedSnapshot('LocalOne') +
      two.prefixedSnapshot('LocalTwo') +
      'Context: ' + context + '\r\nExten: ' + exten + '\r\nLocalOptimization: Yes\r\n',
  );
}

function dialBody(caller: SimChannel | null, dest: SimChannel): string {
  return (caller === null ? '' : caller.snapshot()) + dest.prefixedSnapshot('Dest');
}

export function dialBegin(caller: SimChannel | null, dest: SimChannel, dialString: string): SimEvent {
  return callEvent('DialBegin', dialBody(caller, dest) + 'DialString: ' + dialString + '\r\n');
}

export function dialState(caller: SimChannel | null, dest: SimChannel, status: string): SimEvent {
  return callEvent('DialState', dialBody(caller, dest) + 'DialStatus: ' + status + '\r\n');
}

export function dialEnd(caller: SimChannel | null, dest: SimChannel, status: string): SimEvent {
  return callEvent('DialEnd', dialBody(caller, dest) + 'DialStatus: ' + status + '\r\n');
}

function bridgeBlock(b: SimBridge): string {
  return (
    'BridgeUniqueid: ' + b.id +
    '\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: ' +
    b.members.length +
    '\r\nBridgeVideoSourceMode: none\r\n'
  );
}

export function bridgeCreate(b: SimBridge): SimEvent {
  return callEvent('BridgeCreate', bridgeBlock(b));
}

export function bridgeEnter(b: SimBridge, ch: SimChannel): SimEvent {
  return callEvent('BridgeEnter', bridgeBlock(b) + ch.snapshot());
}

export function bridgeLeave(b: SimBridge, ch: SimChannel): SimEvent {
  return callEvent('BridgeLeave', bridgeBlock(b) + ch.snapshot());
}

export function bridgeDestroy(b: SimBridge): SimEvent {
  return callEvent('BridgeDestroy', bridgeBlock(b));
}

export function deviceStateChange(device: string, state: string): SimEvent {
  return callEvent('DeviceStateChange', 'Device: ' + device + '\r\nState: ' + state + '\r\n');
}

/** `UserEvent(Name,Header: value,…)` run by the dialplan on a channel. */
export function dialplanUserEvent(ch: SimChannel, name: string, lines: readonly string[]): SimEvent {
  let body = ch.snapshot() + 'UserEvent: ' + name + '\r\n';
  for (const line of lines) body += line + '\r\n';
  return { cat: PERM.user, text: 'Event: UserEvent\r\nPrivilege: user,all\r\n' + body + '\r\n' };
}

/** `Action: UserEvent`: the `UserEvent:` header first, then every other header as sent. */
export function actionUserEvent(name: string, headers: ReadonlyArray<readonly [string, string]>): SimEvent {
  let text = 'Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: ' + name + '\r\n';
  for (const [n, v] of headers) text += n + ': ' + v + '\r\n';
  return { cat: PERM.user, text: text + '\r\n' };
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** `2026-11-23 16:06:24` (UTC), as CDR times are written. */
export function cdrTime(ms: number): string {
  const d = new Date(ms);
  return (
    d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()) + ' ' +
    pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds())
  );
}

/** `2026-11-23T16:05:47.758+0000`, as security events write their times. */
export function eventTv(ms: number): string {
  const d = new Date(ms);
  return cdrTime(ms).replace(' ', 'T') + '.' + String(d.getUTCMilliseconds()).padStart(3, '0') + '+0000';
}

export type Disposition = 'ANSWERED' | 'NO ANSWER' | 'BUSY' | 'FAILED' | 'CONGESTION';

export function cdr(ch: SimChannel, endMs: number, disposition: Disposition): SimEvent {
  const known = (v: string): string => (v === UNKNOWN ? '' : v);
  const answered = ch.answeredMs > 0;
  const text =
    'Event: Cdr\r\nPrivilege: cdr,all\r\nAccountCode: ' + ch.accountCode +
    '\r\nSource: ' + known(ch.cidNum) +
    '\r\nDestination: ' + ch.cdrDst +
    '\r\nDestinationContext: ' + ch.cdrDstContext +
    '\r\nCallerID: "' + known(ch.cidName) + '" <' + known(ch.cidNum) + '>' +
    '\r\nChannel: ' + ch.name +
    '\r\nDestinationChannel: ' + (ch.dialedPeer?.name ?? '') +
    '\r\nLastApplication: ' + ch.lastApp +
    '\r\nLastData: ' + ch.lastData +
    '\r\nStartTime: ' + cdrTime(ch.createdMs) +
    '\r\nAnswerTime: ' + (answered ? cdrTime(ch.answeredMs) : '') +
    '\r\nEndTime: ' + cdrTime(endMs) +
    '\r\nDuration: ' + Math.max(0, Math.floor((endMs - ch.createdMs) / 1000)) +
    '\r\nBillableSeconds: ' + (answered ? Math.max(0, Math.floor((endMs - ch.answeredMs) / 1000)) : 0) +
    '\r\nDisposition: ' + disposition +
    '\r\nAMAFlags: DOCUMENTATION\r\nUniqueID: ' + ch.uniqueid +
    '\r\nUserField: ' + ch.userField +
    '\r\n\r\n';
  return { cat: PERM.cdr, text };
}

export interface OriginateOutcome {
  actionId: string | undefined;
  success: boolean;
  /** The channel name when one was created and answered, else the requested `Channel:` value. */
  channel: string;
  /** Application/Data, or Context/Exten, as requested. */
  target: { app: string; data: string } | { context: string; exten: string };
  reason: number;
  uniqueid: string;
  cidNum: string;
  cidName: string;
}

export function originateResponse(o: OriginateOutcome): SimEvent {
  let text = 'Event: OriginateResponse\r\n' + CALL;
  if (o.actionId !== undefined) text += 'ActionID: ' + o.actionId + '\r\n';
  text += 'Response: ' + (o.success ? 'Success' : 'Failure') + '\r\nChannel: ' + o.channel + '\r\n';
  text +=
    'app' in o.target
      ? 'Application: ' + o.target.app + '\r\nData: ' + o.target.data + '\r\n'
      : 'Context: ' + o.target.context + '\r\nExten: ' + o.target.exten + '\r\n';
  text +=
    'Reason: ' + o.reason + '\r\nUniqueid: ' + o.uniqueid + '\r\nCallerIDNum: ' + o.cidNum +
    '\r\nCallerIDName: ' + o.cidName + '\r\n\r\n';
  return { cat: PERM.call, text };
}

/** Written straight to a session at login (not queued like other events). */
export function fullyBooted(uptimeS: number, lastReloadS: number): string {
  return (
    'Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: ' + uptimeS + '\r\nLastReload: ' + lastReloadS +
    '\r\nStatus: Fully Booted\r\n\r\n'
  );
}

export interface AuthInfo {
  nowMs: number;
  sessionStartMs: number;
  username: string;
  sessionId: string;
  local: string;
  remote: string;
}

export function successfulAuth(a: AuthInfo): SimEvent {
  return {
    cat: PERM.security,
    text:
      'Event: SuccessfulAuth\r\nPrivilege: security,all\r\nEventTV: ' + eventTv(a.nowMs) +
      '\r\nSeverity: Informational\r\nService: AMI\r\nEventVersion: 1\r\nAccountID: ' + a.username +
      '\r\nSessionID: ' + a.sessionId +
      '\r\nLocalAddress: ' + a.local +
      '\r\nRemoteAddress: ' + a.remote +
      '\r\nUsingPassword: 0\r\nSessionTV: ' + eventTv(a.sessionStartMs) + '\r\n\r\n',
  };
}

export function reload(module: string): SimEvent {
  return { cat: PERM.system, text: 'Event: Reload\r\nPrivilege: system,all\r\nModule: ' + module + '\r\nStatus: 0\r\n\r\n' };
}

// ---- EventList items (sent to one session, not filtered by class) ----

function idLine(actionId: string | undefined): string {
  return actionId === undefined ? '' : 'ActionID: ' + actionId + '\r\n';
}

/** `CoreShowChannel`: ActionID second. */
export function coreShowChannel(ch: SimChannel, actionId: string | undefined, nowMs: number): string {
  return (
    'Event: CoreShowChannel\r\n' + idLine(actionId) + ch.snapshot() +
    'Application: ' + ch.app + '\r\nApplicationData: ' + ch.appData +
    '\r\nDuration: ' + hms(nowMs - ch.createdMs) +
    '\r\nBridgeId: ' + (ch.bridge?.id ?? '') + '\r\n\r\n'
  );
}

/** `Status`: `Privilege: Call`, ActionID last. */
export function statusItem(ch: SimChannel, actionId: string | undefined, nowMs: number): string {
  const fmt = ch.tech === 'Local' ? 'slin' : 'ulaw';
  const effNum = ch.connNum;
  const effName = ch.connName;
  return (
    'Event: Status\r\nPrivilege: Call\r\n' + ch.snapshot() +
    'Type: ' + ch.tech + '\r\nDNID: ' + ch.dnid +
    '\r\nEffectiveConnectedLineNum: ' + effNum +
    '\r\nEffectiveConnectedLineName: ' + effName +
    '\r\nTimeToHangup: 0\r\nBridgeID: ' + (ch.bridge?.id ?? '') +
    '\r\nApplication: ' + ch.app + '\r\nData: ' + ch.appData +
    '\r\nNativeformats: (' + fmt + ')\r\nReadformat: ' + fmt + '\r\nReadtrans: \r\nWriteformat: ' + fmt +
    '\r\nWritetrans: \r\nCallgroup: 0\r\nPickupgroup: 0\r\nSeconds: ' +
    Math.max(0, Math.floor((nowMs - ch.createdMs) / 1000)) + '\r\n' + idLine(actionId) + '\r\n'
  );
}

export function bridgeListItem(b: SimBridge, actionId: string | undefined): string {
  return 'Event: BridgeListItem\r\n' + idLine(actionId) + bridgeBlock(b) + '\r\n';
}

export function channelHungup(name: string, actionId: string | undefined): string {
  return 'Event: ChannelHungup\r\nChannel: ' + name + '\r\n' + idLine(actionId) + '\r\n';
}

/** The `…Complete` event closing an EventList. */
export function listComplete(event: string, actionId: string | undefined, items: number, extra = ''): string {
  return 'Event: ' + event + '\r\n' + idLine(actionId) + 'EventList: Complete\r\nListItems: ' + items + '\r\n' + extra + '\r\n';
}
