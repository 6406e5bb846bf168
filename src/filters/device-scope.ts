/**
 * Device scoping: a user's `channels = PJSIP/1001, SIP/1001` are devices, and the user sees
 * only events about them (and may act only on their channels: src/access/action-policy.ts).
 * Pure; the only state is the bounded related-call memory inside a DeviceScope.
 *
 * A value "refers to" a device when it is (tech compared without case, resource exactly):
 * - the device itself: `PJSIP/1001` (DeviceStateChange's Device, PeerStatus's Peer, the
 *   Channel of a failed OriginateResponse, a queue member's Interface);
 * - a dial string of it: the device, `/`, anything (`PJSIP/1001/sip:1001@host`, `Local/100@ctx/n`);
 * - one of its channels: the device, `-`, the channel's hex suffix (`PJSIP/1001-0000000a`,
 *   `IAX2/1001-5`), for Local channels followed by `;1` or `;2` (`Local/100@ctx-0000002c;1`),
 *   optionally followed by a masquerade tag (`<ZOMBIE>`). The suffix being hex digits only is
 *   what keeps `PJSIP/office` from owning `PJSIP/office-2-00000001`.
 *
 * The headers that name devices or channels (names compared without case):
 * - every header whose name ends in `Channel`: Channel, DestChannel, LocalOneChannel,
 *   LocalTwoChannel, TransfererChannel, TransfereeChannel, OrigTransfererChannel,
 *   SecondTransfererChannel, TransferTargetChannel, SourceChannel, TargetChannel, SpyerChannel,
 *   SpyeeChannel, ParkeeChannel, ParkerChannel, RetrieverChannel, BridgedChannel,
 *   DestinationChannel (Cdr), ExtraChannel, …: Asterisk builds these from a prefix + "Channel";
 * - Channel1, Channel2 (legacy Link/Bridge), Source, Destination (legacy Dial),
 *   Oldname, Newname, Clone, Original (renames and masquerades);
 * - Device (DeviceStateChange), Peer (PeerStatus, CEL), Interface and StateInterface (queue
 *   members), Hint (ExtensionStatus: devices joined by `&`, presence after `,`);
 * - EndpointName, AOR, Endpoint (ContactStatus and other PJSIP events): the device itself, or,
 *   for a PJSIP device, its bare endpoint name (`1001` for `PJSIP/1001`).
 * An event none of whose headers refers to a device is not about them.
 *
 * Related calls: an event about a device also marks the call it belongs to (the values of its
 * `…Linkedid` headers, per server); later events of that call are admitted even when they name
 * none of the devices (the other legs: the trunk, the Local channels, the queue's agent), so a
 * desk sees its whole call. At most `relatedCalls` calls are remembered, least recently seen
 * forgotten first.
 *
 * Cost: what an event mentions (its device-naming values, taken apart, and its calls) is worked
 * out once per event and kept beside the message (a WeakMap), so each further scoped user pays
 * a few Set look-ups, whatever the number of users.
 */
import type { AmiMessage } from '../ami/message.js';
import type { EventView } from './event-view.js';

/**
 * A value that may name a device, taken apart once: the same parts then serve every user's
 * DeviceSet (each check is a few Set look-ups on strings whose hashes are already known).
 */
export interface NameParts {
  /** The tech, lower-cased. */
  readonly tech: string;
  /** Everything after the first `/`: the resource when the value is a device. */
  readonly rest: string;
  /** The resource when the value is a dial string (`1001` of `PJSIP/1001/sip:…`). */
  readonly dial: string | undefined;
  /** The resource when the value is a channel name (`1001` of `PJSIP/1001-0000000a`). */
  readonly channel: string | undefined;
  /** The channel name ends in a Local channel's `;1` or `;2`. */
  readonly local: boolean;
}

/** The parts of `value`, or undefined when it has no `TECH/` in front. */
export function nameParts(value: string): NameParts | undefined {
  const slash = value.indexOf('/');
  if (slash <= 0) return undefined;
  const rest = value.slice(slash + 1);
  const end = rest.indexOf('/');
  const channel = channelResource(rest);
  return { tech: lowerTech(value.slice(0, slash)), rest, dial: end > 0 ? rest.slice(0, end) : undefined, channel, local: channelIsLocal };
}

const DEVICE = 1;
const DIAL = 2;
const CHANNEL = 4;
const ANY = DEVICE | DIAL | CHANNEL;

/** A user's devices, for asking whether a value refers to one of them. */
export class DeviceSet {
  /** Lower-cased tech → resources. */
  private readonly byTech = new Map<string, Set<string>>();

  constructor(readonly devices: readonly string[]) {
    for (const device of devices) {
      const slash = device.indexOf('/');
      if (slash <= 0 || slash === device.length - 1) throw new Error(`bad device "${device}": expected TECH/RESOURCE`);
      const tech = device.slice(0, slash).toLowerCase();
      let set = this.byTech.get(tech);
      if (set === undefined) this.byTech.set(tech, (set = new Set()));
      set.add(device.slice(slash + 1));
    }
  }

  /** `value` is one of the devices (PJSIP/1001). */
  isDevice(value: string): boolean {
    return this.matches(nameParts(value), DEVICE);
  }

  /** `value` dials one of the devices: the device, or the device, `/` and more (PJSIP/1001/sip:…). */
  isDialString(value: string): boolean {
    return this.matches(nameParts(value), DEVICE | DIAL);
  }

  /** `value` is the name of a channel of one of the devices (PJSIP/1001-0000000a, Local/100@ctx-0000002c;1). */
  ownsChannel(value: string): boolean {
    return this.matches(nameParts(value), CHANNEL);
  }

  /** The device, a dial string of it or one of its channels. */
  refersTo(value: string): boolean {
    return this.matches(nameParts(value), ANY);
  }

  /** refersTo, for a value already taken apart. */
  refersToParts(parts: NameParts | undefined): boolean {
    return this.matches(parts, ANY);
  }

  /** `name` is the bare endpoint name of one of the PJSIP devices (1001 for PJSIP/1001). */
  isPjsipEndpoint(name: string): boolean {
    return this.byTech.get('pjsip')?.has(name) ?? false;
  }

  private matches(p: NameParts | undefined, forms: number): boolean {
    if (p === undefined) return false;
    const set = this.byTech.get(p.tech);
    if (set === undefined) return false;
    if (forms & DEVICE && set.has(p.rest)) return true;
    if (forms & DIAL && p.dial !== undefined && set.has(p.dial)) return true;
    return (forms & CHANNEL) !== 0 && p.channel !== undefined && (p.tech === 'local') === p.local && set.has(p.channel);
  }
}

/** Techs as written in events (PJSIP, Local, …) lower-cased; there are a handful. */
const TECHS = new Map<string, string>();

function lowerTech(tech: string): string {
  let lower = TECHS.get(tech);
  if (lower === undefined) {
    lower = tech.toLowerCase();
    if (TECHS.size < 256) TECHS.set(tech, lower);
  }
  return lower;
}

/** Set by channelResource: whether the name it read had a Local channel's `;1`/`;2`. */
let channelIsLocal = false;

/**
 * The resource part of a channel name without its tech (`1001` of `1001-0000000a`,
 * `100@ctx` of `100@ctx-0000002c;1`): before the last `-`, which must be followed by hex digits
 * only, after dropping a masquerade tag (`<ZOMBIE>`) and a Local channel's `;1`/`;2`.
 */
function channelResource(rest: string): string | undefined {
  let end = rest.length;
  channelIsLocal = false;
  if (end > 0 && rest.charCodeAt(end - 1) === 0x3e /* > */) {
    const tag = rest.lastIndexOf('<');
    if (tag > 0) end = tag;
  }
  if (end >= 2 && rest.charCodeAt(end - 2) === 0x3b /* ; */) {
    const n = rest.charCodeAt(end - 1);
    if (n !== 0x31 && n !== 0x32) return undefined;
    channelIsLocal = true;
    end -= 2;
  }
  const dash = rest.lastIndexOf('-', end - 1);
  if (dash <= 0 || dash === end - 1) return undefined;
  for (let i = dash + 1; i < end; i++) {
    const c = rest.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return undefined;
  }
  return rest.slice(0, dash);
}

const NONE = 0;
const NAME = 1;
const ENDPOINT = 2;
const HINT = 3;
const LINKEDID = 4;
type Kind = typeof NONE | typeof NAME | typeof ENDPOINT | typeof HINT | typeof LINKEDID;

const NAMED: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['channel1', NAME], ['channel2', NAME], ['source', NAME], ['destination', NAME],
  ['oldname', NAME], ['newname', NAME], ['clone', NAME], ['original', NAME],
  ['device', NAME], ['peer', NAME], ['interface', NAME], ['stateinterface', NAME],
  ['endpointname', ENDPOINT], ['aor', ENDPOINT], ['endpoint', ENDPOINT],
  ['hint', HINT],
]);

function classify(name: string): Kind {
  const n = name.toLowerCase();
  if (n.endsWith('channel')) return NAME;
  if (n.endsWith('linkedid')) return LINKEDID;
  return NAMED.get(n) ?? NONE;
}

/** Header name → what it holds, shared by every scope; header names are few, the bound only guards against a strange PBX. */
const KINDS = new Map<string, Kind>();

function kindOf(name: string): Kind {
  let kind = KINDS.get(name);
  if (kind === undefined) {
    kind = classify(name);
    if (KINDS.size >= 4096) KINDS.clear();
    KINDS.set(name, kind);
  }
  return kind;
}

export interface DeviceScopeOptions {
  /** Calls remembered for related-call tracking; 0 turns tracking off. Default 256. */
  readonly relatedCalls?: number;
}

/** What device scoping reads from one event: worked out once per event, for every scoped user. */
interface Mentions {
  /** Values that may be a device, a dial string or a channel, taken apart. */
  readonly names: readonly NameParts[];
  /** Values that may also be a bare PJSIP endpoint name: as they are, and taken apart. */
  readonly endpoints: readonly string[];
  readonly endpointParts: readonly (NameParts | undefined)[];
  /** The server the event came from, and its calls as `server NUL linkedid`. */
  readonly server: string | undefined;
  readonly calls: readonly string[];
}

const NO_PARTS: readonly NameParts[] = Object.freeze([]);
const NO_STRINGS: readonly string[] = Object.freeze([]);

/** Keyed by the message itself: one per event, shared by every client, never changed. */
const MENTIONS = new WeakMap<AmiMessage, Mentions>();

function mentionsOf(ev: EventView): Mentions {
  let m = MENTIONS.get(ev.message);
  if (m === undefined || m.server !== ev.server) {
    let names: NameParts[] | undefined;
    let endpoints: string[] | undefined;
    let calls: string[] | undefined;
    const add = (value: string): void => {
      const parts = nameParts(value);
      if (parts !== undefined) (names ??= []).push(parts);
    };
    for (const [name, value] of ev.message.headers) {
      const kind = kindOf(name);
      if (kind === NONE || value === '') continue;
      if (kind === NAME) add(value);
      else if (kind === LINKEDID) (calls ??= []).push(`${ev.server ?? ''}\0${value}`);
      else if (kind === ENDPOINT) (endpoints ??= []).push(value);
      else for (const part of value.split(/[&,]/)) add(part.trim());
    }
    m = {
      names: names ?? NO_PARTS,
      endpoints: endpoints ?? NO_STRINGS,
      endpointParts: endpoints?.map(nameParts) ?? [],
      server: ev.server,
      calls: calls ?? NO_STRINGS,
    };
    MENTIONS.set(ev.message, m);
  }
  return m;
}

/** Which events a device-scoped user sees. One per user: its memory of related calls is shared by the user's sessions. */
export class DeviceScope {
  readonly devices: DeviceSet;
  private readonly maxRelated: number;
  /** `server NUL linkedid` of calls a device was seen in, least recently seen first. */
  private readonly related = new Map<string, true>();

  constructor(devices: readonly string[], options: DeviceScopeOptions = {}) {
    this.devices = new DeviceSet(devices);
    this.maxRelated = options.relatedCalls ?? 256;
  }

  /** Calls currently remembered (for tests and the status page). */
  get relatedCount(): number {
    return this.related.size;
  }

  /** Whether the event is about one of the devices, or about a call one of them was seen in. */
  admits(ev: EventView): boolean {
    const m = mentionsOf(ev);
    const devices = this.devices;
    let about = false;
    for (const parts of m.names) {
      if (devices.refersToParts(parts)) {
        about = true;
        break;
      }
    }
    for (let i = 0; !about && i < m.endpoints.length; i++) {
      about = devices.refersToParts(m.endpointParts[i]) || devices.isPjsipEndpoint(m.endpoints[i]!);
    }
    if (this.maxRelated === 0 || m.calls.length === 0) return about;
    if (about) {
      for (const key of m.calls) this.remember(key);
      return true;
    }
    for (const key of m.calls) {
      if (this.related.has(key)) {
        this.remember(key);
        return true;
      }
    }
    return false;
  }

  private remember(key: string): void {
    if (this.related.has(key)) this.related.delete(key);
    else if (this.related.size >= this.maxRelated) this.related.delete(this.related.keys().next().value!);
    this.related.set(key, true);
  }
}
