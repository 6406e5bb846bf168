/**
 * The simulated channel table: every channel that exists right now, in creation order, with
 * the fields AMI shows about it, plus the links the call engine needs (Local pair partner,
 * bridge, dial legs). Also the id sources (uniqueids, channel name suffixes, bridge ids).
 */
import { randomUUID } from 'node:crypto';

export const enum ChanState {
  Down = 0,
  Ring = 4,
  Ringing = 5,
  Up = 6,
  Busy = 7,
}

const STATE_DESC: Readonly<Record<number, string>> = {
  0: 'Down',
  1: 'Rsrvd',
  2: 'OffHook',
  3: 'Dialing',
  4: 'Ring',
  5: 'Ringing',
  6: 'Up',
  7: 'Busy',
};

export function stateDesc(state: number): string {
  return STATE_DESC[state] ?? 'Unknown';
}

export const UNKNOWN = '<unknown>';

/** Who started an Originate and how its outcome is reported (set on the originated channel). */
export interface OriginTracker {
  settled: boolean;
  settle(success: boolean, reason: number, channel: SimChannel | null): void;
}

/** A tracker for originates nobody waits for (the dialplan's Originate application, traffic). */
export function silentTracker(): OriginTracker {
  return {
    settled: false,
    settle() {
      this.settled = true;
    },
  };
}

export interface SimBridge {
  readonly id: string;
  readonly members: SimChannel[];
}

export class SimChannel {
  state: ChanState;
  cidNum = UNKNOWN;
  cidName = UNKNOWN;
  connNum = UNKNOWN;
  connName = UNKNOWN;
  language = 'en';
  accountCode = '';
  context: string;
  exten: string;
  priority = 1;
  linkedid: string;
  /** What CoreShowChannel/Status show as Application/ApplicationData. */
  app = '';
  appData = '';
  /** Last application for the CDR (not counting the `h` extension). */
  lastApp = '';
  lastData = '';
  /** Destination for the CDR: the first dialplan extension this channel ran. */
  cdrDst = '';
  cdrDstContext = '';
  userField = '';
  dnid = '';
  /** Epoch ms of creation and answer, on the engine's clock. */
  readonly createdMs: number;
  answeredMs = 0;
  /** Whether this channel runs dialplan (it then gets SoftHangupRequest and the `h` extension). */
  dialplan = false;
  /** Whether a CDR is posted for it when it hangs up (dial legs have none of their own). */
  cdr = true;
  /** A cause set by the dialplan (Busy 17, Congestion 34) that wins over the one it is hung up with. */
  hangupCause: number | undefined;
  gone = false;

  partner: SimChannel | null = null;
  bridge: SimBridge | null = null;
  /** The channel whose Dial created this one (dial leg), and the legs this channel is dialling. */
  dialedBy: SimChannel | null = null;
  dialing: SimChannel[] = [];
  /** The leg this channel's Dial connected to (CDR DestinationChannel). */
  dialedPeer: SimChannel | null = null;
  /** Set on an originated channel until its outcome is reported. */
  origin: OriginTracker | null = null;
  /** Pending engine timer (program step, app end); cancelled when the channel hangs up. */
  task: { cancelled: boolean } | null = null;
  /** Originate ring timeout, or the Dial timeout of a dialling channel. */
  ringTimer: { cancelled: boolean } | null = null;
  /** The engine running this channel, so `Action: Hangup` can end it. */
  owner: { hangupChannel(ch: SimChannel, cause: number): void } | null = null;
  /** Channel variables (Setvar/Getvar with Channel:). */
  readonly vars = new Map<string, string>();
  /** Engine-private state (dialplan program, loop counters). */
  program: unknown = null;

  private snap: string | null = null;

  constructor(
    readonly name: string,
    readonly uniqueid: string,
    readonly tech: 'Local' | 'PJSIP',
    init: { state: ChanState; context: string; exten: string; linkedid?: string; createdMs: number },
  ) {
    this.state = init.state;
    this.context = init.context;
    this.exten = init.exten;
    this.linkedid = init.linkedid ?? uniqueid;
    this.createdMs = init.createdMs;
  }

  /** Forget the cached snapshot after changing a field it shows. */
  touch(): this {
    this.snap = null;
    return this;
  }

  /** The channel snapshot header block (Channel … Linkedid), CRLF after each line. */
  snapshot(): string {
    if (this.snap !== null) return this.snap;
    this.snap =
      'Channel: ' + this.name +
      '\r\nChannelState: ' + this.state +
      '\r\nChannelStateDesc: ' + stateDesc(this.state) +
      '\r\nCallerIDNum: ' + this.cidNum +
      '\r\nCallerIDName: ' + this.cidName +
      '\r\nConnectedLineNum: ' + this.connNum +
      '\r\nConnectedLineName: ' + this.connName +
      '\r\nLanguage: ' + this.language +
      '\r\nAccountCode: ' + this.accountCode +
      '\r\nContext: ' + this.context +
      '\r\nExten: ' + this.exten +
      '\r\nPriority: ' + this.priority +
      '\r\nUniqueid: ' + this.uniqueid +
      '\r\nLinkedid: ' + this.linkedid +
      '\r\n';
    return this.snap;
  }

  /** The snapshot with every header name prefixed (`Dest`, `LocalOne`, `LocalTwo`). */
  prefixedSnapshot(prefix: string): string {
    return (
      prefix + 'Channel: ' + this.name +
      '\r\n' + prefix + 'ChannelState: ' + this.state +
      '\r\n' + prefix + 'ChannelStateDesc: ' + stateDesc(this.state) +
      '\r\n' + prefix + 'CallerIDNum: ' + this.cidNum +
      '\r\n' + prefix + 'CallerIDName: ' + this.cidName +
      '\r\n' + prefix + 'ConnectedLineNum: ' + this.connNum +
      '\r\n' + prefix + 'ConnectedLineName: ' + this.connName +
      '\r\n' + prefix + 'Language: ' + this.language +
      '\r\n' + prefix + 'AccountCode: ' + this.accountCode +
      '\r\n' + prefix + 'Context: ' + this.context +
      '\r\n' + prefix + 'Exten: ' + this.exten +
      '\r\n' + prefix + 'Priority: ' + this.priority +
      '\r\n' + prefix + 'Uniqueid: ' + this.uniqueid +
      '\r\n' + prefix + 'Linkedid: ' + this.linkedid +
      '\r\n'
    );
  }

  /** The device this channel belongs to, as DeviceStateChange names it. */
  get device(): string {
    const cut = this.name.lastIndexOf('-');
    return cut > 0 ? this.name.slice(0, cut) : this.name;
  }
}

/**
 * Every live channel, in creation order. Channels sharing a linkedid are one call: the table
 * counts active and processed calls the way `core show channels` and CoreStatus report them.
 */
export class ChannelTable {
  private readonly byName = new Map<string, SimChannel>();
  private readonly calls = new Map<string, number>();
  private processed = 0;

  get size(): number {
    return this.byName.size;
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  get processedCalls(): number {
    return this.processed;
  }

  add(ch: SimChannel): void {
    this.byName.set(ch.name, ch);
    const n = this.calls.get(ch.linkedid);
    if (n === undefined) this.processed++;
    this.calls.set(ch.linkedid, (n ?? 0) + 1);
  }

  remove(ch: SimChannel): void {
    if (this.byName.get(ch.name) !== ch) return;
    this.byName.delete(ch.name);
    const n = this.calls.get(ch.linkedid) ?? 1;
    if (n <= 1) this.calls.delete(ch.linkedid);
    else this.calls.set(ch.linkedid, n - 1);
  }

  get(name: string): SimChannel | undefined {
    return this.byName.get(name);
  }

  /** Channels newest first, the order the CLI and the list actions show them in. */
  newestFirst(): SimChannel[] {
    return [...this.byName.values()].reverse();
  }

  values(): IterableIterator<SimChannel> {
    return this.byName.values();
  }

  /** Forgets every channel (a crash); processed calls keep counting. */
  clear(): void {
    for (const ch of this.byName.values()) ch.gone = true;
    this.byName.clear();
    this.calls.clear();
  }
}

/** Id sources shared by every call of one simulated PBX. */
export class IdSource {
  private unique = 0;
  private local = 0;
  private pjsip = 0;

  /** `1795449959.12`: creation time in seconds, then a counter over the PBX's life. */
  uniqueid(nowMs: number): string {
    return Math.floor(nowMs / 1000) + '.' + this.unique++;
  }

  /** The 8-hex-digit suffix of a Local channel pair (`Local/100@test-0000000a`). */
  localSuffix(): string {
    return (this.local++).toString(16).padStart(8, '0');
  }

  /** The 8-hex-digit suffix of a PJSIP channel (`PJSIP/1001-0000002a`). */
  pjsipSuffix(): string {
    return (this.pjsip++).toString(16).padStart(8, '0');
  }

  bridgeId(): string {
    return randomUUID();
  }
}

/** `HH:MM:SS` of a duration in ms (CoreShowChannel `Duration`). */
export function hms(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
