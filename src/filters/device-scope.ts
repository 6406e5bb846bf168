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
 */
import type { EventView } from './event-view.js';

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
    const r = this.split(value);
    return r !== undefined && r.resources.has(r.rest);
  }

  /** `value` dials one of the devices: the device, or the device, `/` and more (PJSIP/1001/sip:…). */
  isDialString(value: string): boolean {
    const r = this.split(value);
    if (r === undefined) return false;
    if (r.resources.has(r.rest)) return true;
    const slash = r.rest.indexOf('/');
    return slash > 0 && r.resources.has(r.rest.slice(0, slash));
  }

  /** `value` is the name of a channel of one of the devices (PJSIP/1001-0000000a, Local/100@ctx-0000002c;1). */
  ownsChannel(value: string): boolean {
    const r = this.split(value);
    return r !== undefined && channelOf(r.tech, r.rest, r.resources);
  }

  /** The device, a dial string of it or one of its channels. */
  refersTo(value: string): boolean {
    const r = this.split(value);
    if (r === undefined) return false;
    if (r.resources.has(r.rest)) return true;
    const slash = r.rest.indexOf('/');
    if (slash > 0 && r.resources.has(r.rest.slice(0, slash))) return true;
    return channelOf(r.tech, r.rest, r.resources);
  }

  /** `name` is the bare endpoint name of one of the PJSIP devices (1001 for PJSIP/1001). */
  isPjsipEndpoint(name: string): boolean {
    return this.byTech.get('pjsip')?.has(name) ?? false;
  }

  private split(value: string): { tech: string; rest: string; resources: Set<string> } | undefined {
    const slash = value.indexOf('/');
    if (slash <= 0) return undefined;
    const tech = value.slice(0, slash).toLowerCase();
    const resources = this.byTech.get(tech);
    return resources === undefined ? undefined : { tech, rest: value.slice(slash + 1), resources };
  }
}

const HEX = /^[0-9a-f]+$/i;

function channelOf(tech: string, rest: string, resources: Set<string>): boolean {
  let r = rest;
  if (r.endsWith('>')) {
    const tag = r.lastIndexOf('<');
    if (tag > 0) r = r.slice(0, tag);
  }
  if (tech === 'local') {
    if (!r.endsWith(';1') && !r.endsWith(';2')) return false;
    r = r.slice(0, -2);
  }
  const dash = r.lastIndexOf('-');
  return dash > 0 && HEX.test(r.slice(dash + 1)) && resources.has(r.slice(0, dash));
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
    const devices = this.devices;
    const tracking = this.maxRelated > 0;
    let about = false;
    let linked: string[] | undefined;
    for (const [name, value] of ev.message.headers) {
      const kind = kindOf(name);
      if (kind === NONE || value === '') continue;
      if (kind === LINKEDID) {
        if (tracking) (linked ??= []).push(value);
        continue;
      }
      if (about) continue;
      if (kind === NAME) about = devices.refersTo(value);
      else if (kind === ENDPOINT) about = devices.refersTo(value) || devices.isPjsipEndpoint(value);
      else about = value.split(/[&,]/).some((part) => devices.refersTo(part.trim()));
      if (about && !tracking) return true;
    }
    if (!tracking || linked === undefined) return about;
    const server = ev.server ?? '';
    if (about) {
      for (const id of linked) this.remember(`${server}\0${id}`);
      return true;
    }
    for (const id of linked) {
      const key = `${server}\0${id}`;
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
