/**
 * Device scoping (src/filters/device-scope.ts): which values name a user's devices, which
 * events are about them, and the bounded memory of related calls, with events of a real
 * Asterisk 22 (capture 07c: an Originate of Local/600@test that dials Local/100@test).
 */
import { describe, expect, it } from 'vitest';

import { eventClassBits } from '../src/ami/event-classes.js';
import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { Outbound } from '../src/clients/shared/outbound.js';
import { DeviceScope, DeviceSet } from '../src/filters/device-scope.js';
import { captureEvents } from './helpers/captures.js';

function ev(server: string | undefined, ...lines: string[]): Outbound {
  const headers: AmiHeader[] = lines.map((l) => {
    const i = l.indexOf(': ');
    return [l.slice(0, i), l.slice(i + 2)];
  });
  const message: AmiMessage = { headers };
  return new Outbound(message, server, eventClassBits(message));
}

describe('DeviceSet: what names a device', () => {
  const set = new DeviceSet(['PJSIP/1001', 'SIP/office-2', 'Local/100@from-internal', 'IAX2/trunk']);

  it('the device itself, tech without case, resource exactly', () => {
    expect(set.isDevice('PJSIP/1001')).toBe(true);
    expect(set.isDevice('pjsip/1001')).toBe(true);
    expect(set.isDevice('PJSIP/10010')).toBe(false);
    expect(set.isDevice('PJSIP/100')).toBe(false);
    expect(set.isDevice('SIP/Office-2')).toBe(false);
    expect(set.isDevice('PJSIP')).toBe(false);
    expect(set.isDevice('1001')).toBe(false);
  });

  it('dial strings: the device, or the device, "/" and more', () => {
    expect(set.isDialString('PJSIP/1001')).toBe(true);
    expect(set.isDialString('PJSIP/1001/sip:1001@192.0.2.1:5060')).toBe(true);
    expect(set.isDialString('Local/100@from-internal/n')).toBe(true);
    expect(set.isDialString('Local/100@other/n')).toBe(false);
    expect(set.isDialString('PJSIP/1002/sip:1001@192.0.2.1')).toBe(false);
    expect(set.isDialString('PJSIP/1001-0000000a')).toBe(false);
  });

  it('channels: the device, "-", a hex suffix (";1"/";2" for Local), a masquerade tag allowed', () => {
    expect(set.ownsChannel('PJSIP/1001-0000000a')).toBe(true);
    expect(set.ownsChannel('pjsip/1001-0000000A')).toBe(true);
    expect(set.ownsChannel('PJSIP/1001-0000000a<ZOMBIE>')).toBe(true);
    expect(set.ownsChannel('IAX2/trunk-1234')).toBe(true);
    expect(set.ownsChannel('Local/100@from-internal-0000002c;1')).toBe(true);
    expect(set.ownsChannel('Local/100@from-internal-0000002c;2')).toBe(true);
    expect(set.ownsChannel('Local/100@from-internal-0000002c;3')).toBe(false);
    expect(set.ownsChannel('Local/100@from-internal-0000002c')).toBe(false);
    expect(set.ownsChannel('SIP/office-2-00000001')).toBe(true);
    expect(set.ownsChannel('PJSIP/1001')).toBe(false);
    expect(set.ownsChannel('PJSIP/10010-00000001')).toBe(false);
    expect(set.ownsChannel('PJSIP/1001-2-00000001')).toBe(false);
    expect(set.ownsChannel('PJSIP/1001-xyz')).toBe(false);
    expect(set.ownsChannel('PJSIP/1001-')).toBe(false);
    expect(set.ownsChannel('1795450068.89')).toBe(false);
  });

  it('a device whose name is a prefix of another owns none of its channels', () => {
    const office = new DeviceSet(['SIP/office']);
    expect(office.ownsChannel('SIP/office-2-00000001')).toBe(false);
    expect(office.ownsChannel('SIP/office-00000001')).toBe(true);
  });

  it('refersTo: any of the three; bare PJSIP endpoint names', () => {
    for (const v of ['PJSIP/1001', 'PJSIP/1001/sip:x', 'PJSIP/1001-00000001', 'Local/100@from-internal-0000002c;2']) expect(set.refersTo(v), v).toBe(true);
    for (const v of ['PJSIP/1002', 'DAHDI/1-1', '', 'Local/100@test-0000002c;1']) expect(set.refersTo(v), v).toBe(false);
    expect(set.isPjsipEndpoint('1001')).toBe(true);
    expect(set.isPjsipEndpoint('office-2')).toBe(false);
  });

  it('refuses a malformed device', () => {
    expect(() => new DeviceSet(['PJSIP'])).toThrow(/TECH\/RESOURCE/);
  });
});

describe('DeviceScope: which events are about the devices', () => {
  const scope = () => new DeviceScope(['PJSIP/1001', 'SIP/1001'], { relatedCalls: 0 });

  const about: Array<[string, string[]]> = [
    ['Newchannel', ['Event: Newchannel', 'Channel: PJSIP/1001-0000000a', 'Uniqueid: 1.1']],
    ['DialBegin to the device', ['Event: DialBegin', 'Channel: PJSIP/trunk-00000001', 'DestChannel: PJSIP/1001-00000002']],
    ['DeviceStateChange', ['Event: DeviceStateChange', 'Device: PJSIP/1001', 'State: INUSE']],
    ['PeerStatus', ['Event: PeerStatus', 'ChannelType: PJSIP', 'Peer: PJSIP/1001', 'PeerStatus: Reachable']],
    ['ContactStatus', ['Event: ContactStatus', 'URI: sip:1001@192.0.2.7', 'AOR: 1001', 'EndpointName: 1001']],
    ['QueueMemberStatus', ['Event: QueueMemberStatus', 'Queue: support', 'Interface: SIP/1001', 'StateInterface: SIP/1001']],
    ['ExtensionStatus', ['Event: ExtensionStatus', 'Exten: 1001', 'Hint: PJSIP/1001&SIP/1001,CustomPresence:1001']],
    ['BlindTransfer', ['Event: BlindTransfer', 'TransfererChannel: PJSIP/1001-00000003', 'TransfereeChannel: PJSIP/trunk-00000004']],
    ['AttendedTransfer', ['Event: AttendedTransfer', 'OrigTransfererChannel: PJSIP/2000-00000001', 'SecondTransfererChannel: SIP/1001-00000005']],
    ['Cdr', ['Event: Cdr', 'Channel: PJSIP/trunk-00000001', 'DestinationChannel: PJSIP/1001-00000002']],
    ['legacy Dial', ['Event: Dial', 'Source: SIP/1001-00000001', 'Destination: SIP/2000-00000002']],
    ['legacy Link', ['Event: Link', 'Channel1: SIP/2000-00000001', 'Channel2: SIP/1001-00000002']],
    ['failed OriginateResponse', ['Event: OriginateResponse', 'Response: Failure', 'Channel: PJSIP/1001', 'Reason: 0']],
  ];
  for (const [what, lines] of about) {
    it(`${what}: about`, () => expect(scope().admits(ev('pbx1', ...lines))).toBe(true));
  }

  const notAbout: Array<[string, string[]]> = [
    ['another device', ['Event: Newchannel', 'Channel: PJSIP/1002-0000000a']],
    ['a longer name', ['Event: Newchannel', 'Channel: PJSIP/10010-0000000a']],
    ['no channel at all', ['Event: BridgeCreate', 'BridgeUniqueid: abc']],
    ['the name in a header that names no channel', ['Event: VarSet', 'Channel: PJSIP/2000-00000001', 'Variable: BRIDGEPEER', 'Value: PJSIP/1001-00000002']],
    ['a bare endpoint name of another tech', ['Event: ContactStatus', 'EndpointName: office']],
  ];
  for (const [what, lines] of notAbout) {
    it(`${what}: not about`, () => expect(scope().admits(ev('pbx1', ...lines))).toBe(false));
  }
});

describe('DeviceScope on a real call (capture 07c)', () => {
  const events = captureEvents('07c-originate-dial-bridge').map((m) => new Outbound(m, 'pbx1', eventClassBits(m)));
  const names100 = (e: Outbound) =>
    e.message.headers.some(([n, v]) => /(Channel|Device|Interface)$/.test(n) && v.startsWith('Local/100@test'));

  it('without related calls: exactly the events naming Local/100@test or its channels', () => {
    const scope = new DeviceScope(['Local/100@test'], { relatedCalls: 0 });
    const seen = events.filter((e) => scope.admits(e));
    expect(seen).toEqual(events.filter(names100));
    const names = seen.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['Newchannel', 'DialBegin', 'BridgeEnter', 'Hangup', 'DeviceStateChange', 'QueueMemberStatus', 'Cdr', 'LocalBridge']));
    expect(names).not.toContain('OriginateResponse');
    expect(names).not.toContain('BridgeCreate');
  });

  it('with related calls: from its first event on, the other legs of its call too', () => {
    const scope = new DeviceScope(['Local/100@test']);
    const seen = events.filter((e) => scope.admits(e));
    const first = events.findIndex(names100);
    const linked = (e: Outbound) => e.message.headers.some(([n, v]) => n.endsWith('inkedid') && v === '1795449993.12');
    expect(seen).toEqual(events.filter((e, i) => names100(e) || (i > first && linked(e))));
    // The Local/600 legs after Local/100 appeared: seen; before it: not.
    const leg600 = (e: Outbound) => e.message.headers.some(([n, v]) => n === 'Channel' && v.startsWith('Local/600@test'));
    expect(seen.filter(leg600).length).toBeGreaterThan(10);
    expect(scope.relatedCount).toBe(1);
    const fresh = new DeviceScope(['Local/100@test']);
    expect(events.slice(0, first).filter((e) => fresh.admits(e))).toEqual([]);
  });

  it('a call is related per server: the same Linkedid on another PBX is another call', () => {
    const scope = new DeviceScope(['PJSIP/1001']);
    expect(scope.admits(ev('pbx1', 'Event: Newchannel', 'Channel: PJSIP/1001-00000001', 'Linkedid: 77.1'))).toBe(true);
    expect(scope.admits(ev('pbx1', 'Event: Newchannel', 'Channel: PJSIP/trunk-00000002', 'Linkedid: 77.1'))).toBe(true);
    expect(scope.admits(ev('pbx2', 'Event: Newchannel', 'Channel: PJSIP/trunk-00000002', 'Linkedid: 77.1'))).toBe(false);
    expect(scope.admits(ev('pbx1', 'Event: Newchannel', 'Channel: PJSIP/trunk-00000003', 'Linkedid: 78.1'))).toBe(false);
  });

  it('the same message seen from two servers is two events', () => {
    const scope = new DeviceScope(['PJSIP/1001']);
    scope.admits(ev('pbx1', 'Event: Newchannel', 'Channel: PJSIP/1001-00000001', 'Linkedid: 5.1'));
    const leg: AmiMessage = { headers: [['Event', 'Newstate'], ['Channel', 'PJSIP/trunk-00000002'], ['Linkedid', '5.1']] };
    expect(scope.admits(new Outbound(leg, 'pbx1', 2))).toBe(true);
    expect(scope.admits(new Outbound(leg, 'pbx2', 2))).toBe(false);
    expect(scope.admits(new Outbound(leg, 'pbx1', 2))).toBe(true);
  });

  it('remembers at most relatedCalls calls, least recently seen forgotten first', () => {
    const scope = new DeviceScope(['PJSIP/1001'], { relatedCalls: 2 });
    const own = (id: string) => ev('pbx1', 'Event: Newstate', 'Channel: PJSIP/1001-00000001', `Linkedid: ${id}`);
    const other = (id: string) => ev('pbx1', 'Event: Newstate', 'Channel: PJSIP/trunk-00000009', `Linkedid: ${id}`);
    scope.admits(own('a'));
    scope.admits(own('b'));
    expect(scope.admits(other('a'))).toBe(true); // a is now the most recent
    scope.admits(own('c')); // b is forgotten
    expect(scope.relatedCount).toBe(2);
    expect(scope.admits(other('b'))).toBe(false);
    expect(scope.admits(other('a'))).toBe(true);
    expect(scope.admits(other('c'))).toBe(true);
  });
});
