/**
 * Calls on the simulated PBX: Originate (async, sync, every failure), the event streams of
 * captures 07a–07d, the channel lists built from the live channel table, Hangup, UserEvent,
 * event masks and permissions, WaitEvent, spaced-out EventLists.
 */
import { describe, expect, it } from 'vitest';
import {
  eventNamed,
  header,
  headers,
  isEvent,
  isResponse,
  responseTo,
  type Headers,
  type Received,
} from './helpers/ami-test-client.js';
import { startSim, loggedIn, useSimFixture } from './helpers/sim-fixture.js';
import { serverCapture } from './helpers/captures.js';

useSimFixture();

/** The messages of a capture (what Asterisk sent), banner dropped. */
function captureMessages(name: string): string[] {
  const text = serverCapture(name).toString('latin1');
  const body = text.slice(text.indexOf('\r\n') + 2);
  return body
    .split('\r\n\r\n')
    .filter((m) => m !== '')
    .map((m) => m + '\r\n\r\n');
}

/** Queue and agent events come from the captures' queue configuration, which the simulator has not. */
function notQueue(raw: string): boolean {
  return !raw.startsWith('Event: QueueMemberStatus') && !raw.includes('Device: Queue:');
}

/**
 * Masks run-specific values, numbering uniqueids, Local channel suffixes and bridge ids by
 * first appearance so that links between events (linkedids, peers) still have to agree.
 */
function masker(): (raw: string) => string {
  const maps = new Map<string, Map<string, string>>();
  const id = (kind: string, v: string): string => {
    let m = maps.get(kind);
    if (m === undefined) maps.set(kind, (m = new Map()));
    let n = m.get(v);
    if (n === undefined) m.set(v, (n = `${kind}${m.size}`));
    return n;
  };
  return (raw) =>
    raw
      .replace(/\b\d{10}\.\d+\b/g, (v) => id('U', v))
      .replace(/-([0-9a-f]{8});/g, (_m, v: string) => `-${id('L', v)};`)
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (v) => id('B', v))
      .replace(/^(StartTime|AnswerTime|EndTime|EventTV|SessionTV): .+$/gm, '$1: *');
}

function originate(id: string, channel: string, extra: Headers = [['Application', 'Wait'], ['Data', '1']], async = true): Headers {
  return [
    ['Action', 'Originate'],
    ['Channel', channel],
    ...extra,
    ...(async ? ([['Async', 'true']] as Headers) : []),
    ['ActionID', id],
  ];
}

const originateResponse = (id: string) => (m: Received) => isEvent(m, 'OriginateResponse') && header(m, 'ActionID') === id;

describe('Originate, async', () => {
  it('Local/100@test Wait 2: the event stream of capture 07a, byte for byte (queue events aside)', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port);
    await c.waitFor(eventNamed('SuccessfulAuth'));
    const from = c.messages.length;
    const res = await c.action(originate('orig-1', 'Local/100@test', [['Application', 'Wait'], ['Data', '2']]));
    expect(res.raw).toBe('Response: Success\r\nActionID: orig-1\r\nMessage: Originate successfully queued\r\n\r\n');
    // The last event of the call: the CDR of ;1.
    await c.waitForCount(eventNamed('Cdr'), 2, 5000, from);
    await new Promise((r) => setTimeout(r, 100));
    const mine = masker();
    const theirs = masker();
    const got = c.messages.slice(from).map((m) => mine(m.raw));
    const want = captureMessages('07a-originate-single-events')
      .filter((m) => !m.startsWith('Response: Success\r\nActionID: l\r\n'))
      .filter((m) => !m.startsWith('Event: FullyBooted') && !m.startsWith('Event: SuccessfulAuth'))
      .filter(notQueue)
      .map(theirs);
    expect(got).toEqual(want);
  });

  it('with Context/Exten/Priority, CallerID, Variables, ChannelId: the shapes of capture 07b', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port);
    const from = c.messages.length;
    c.sendAction([
      ['Action', 'Originate'],
      ['Channel', 'Local/200@test'],
      ['Context', 'test'],
      ['Exten', '700'],
      ['Priority', '1'],
      ['CallerID', '"AMI Test" <5551234>'],
      ['Variable', 'V1=one'],
      ['Variable', 'V2=two'],
      ['Timeout', '10000'],
      ['ChannelId', 'orig-uniq-1'],
      ['OtherChannelId', 'orig-uniq-2'],
      ['Async', 'true'],
      ['ActionID', 'orig-2'],
    ]);
    const resp = await c.waitFor(originateResponse('orig-2'), 3000, from);
    const want = captureMessages('07b-originate-userevent-exten');
    const mine = masker();
    const theirs = masker();
    expect(mine(resp.raw)).toBe(theirs(want.find((m) => m.startsWith('Event: OriginateResponse'))!));
    const userEvent = await c.waitFor(eventNamed('UserEvent'), 3000, from);
    expect(userEvent.raw.replace(/-[0-9a-f]{8};/, '-X;')).toBe(
      want.find((m) => m.startsWith('Event: UserEvent'))!.replace(/-[0-9a-f]{8};/, '-X;'),
    );
    await c.waitForCount(eventNamed('Cdr'), 2, 5000, from);
    const varsets = c.filter(eventNamed('VarSet'), from).map((m) => `${header(m, 'Channel')!.slice(-2)} ${header(m, 'Variable')}=${header(m, 'Value')}`);
    expect(varsets.slice(0, 4)).toEqual([';1 V2=two', ';1 V1=one', ';2 V1=one', ';2 V2=two']);
    expect(varsets).toContain(';1 FOO=bar');
    const newCid = c.filter(eventNamed('NewCallerid'), from);
    expect(newCid.map((m) => header(m, 'CallerIDName'))).toEqual(['AMI Test', 'AMI Test']);
    expect(header(newCid[0]!, 'CID-CallingPres')).toBe('0 (Presentation Allowed, Not Screened)');
    const cdrs = c.filter(eventNamed('Cdr'), from);
    const cdr1 = cdrs.find((m) => header(m, 'UniqueID') === 'orig-uniq-1')!;
    expect(header(cdr1, 'UserField')).toBe('ami-test');
    expect(header(cdr1, 'Destination')).toBe('700');
    expect(header(cdr1, 'CallerID')).toBe('"AMI Test" <5551234>');
    const chans = c.filter(eventNamed('Newchannel'), from);
    expect(chans.map((m) => [header(m, 'Uniqueid'), header(m, 'Linkedid')])).toEqual([
      ['orig-uniq-1', 'orig-uniq-1'],
      ['orig-uniq-2', 'orig-uniq-1'],
    ]);
  });

  it('Local/600@test (Dial): the events of capture 07c, Dial, bridge and all', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port);
    const from = c.messages.length;
    c.sendAction(originate('orig-dial', 'Local/600@test', [['Application', 'Wait'], ['Data', '5']]));
    await c.waitFor((m) => isEvent(m, 'Hangup') && header(m, 'Channel')!.startsWith('Local/600@test') && header(m, 'Exten') === 'h', 5000, from);
    await new Promise((r) => setTimeout(r, 100));
    const key = (raw: string): string => {
      const name = /^Event: (\S+)/.exec(raw)?.[1] ?? '';
      const ch = /^(?:Channel|DestChannel|LocalOneChannel|Device): (.*)$/m.exec(raw)?.[1]?.replace(/-[0-9a-f]{8};/, ';') ?? '';
      const v = /^Variable: (.*)$/m.exec(raw)?.[1] ?? '';
      return `${name} ${ch} ${v}`.trim();
    };
    const got = c.messages.slice(from).filter((m) => isEvent(m)).map((m) => key(m.raw)).sort();
    const want = captureMessages('07c-originate-dial-bridge')
      .filter((m) => m.startsWith('Event: ') && !m.startsWith('Event: FullyBooted') && !m.startsWith('Event: SuccessfulAuth'))
      .filter(notQueue)
      // Asterisk sets CHANLOCALSTATUS on the ;1 of a Local pair as it goes down; not simulated.
      .filter((m) => !m.includes('Variable: CHANLOCALSTATUS'))
      .map(key)
      .sort();
    expect(got).toEqual(want);
    const enter = c.filter(eventNamed('BridgeEnter'), from);
    expect(enter.map((m) => header(m, 'BridgeNumChannels'))).toEqual(['1', '2']);
    const bridgeIds = new Set(c.filter((m) => isEvent(m) && /^Bridge/.test(header(m, 'Event')!), from).map((m) => header(m, 'BridgeUniqueid')));
    expect(bridgeIds.size).toBe(1);
  });

  it('reports each failure with the ActionID and Asterisk’s Reason (capture 07d, byte for byte)', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'call');
    const want = captureMessages('07d-originate-failures').filter((m) => m.startsWith('Event: OriginateResponse'));
    const cases: Array<[string, string, Headers]> = [
      ['orig-busy', 'Local/666@test', [['Application', 'Wait'], ['Data', '1']]],
      ['orig-cong', 'Local/667@test', [['Application', 'Wait'], ['Data', '1']]],
      ['orig-noans', 'Local/668@test', [['Application', 'Wait'], ['Data', '1'], ['Timeout', '500']]],
      ['orig-noctx', 'Local/100@nosuchcontext', [['Application', 'Wait'], ['Data', '1']]],
      ['orig-badtech', 'Bogus/abc', [['Application', 'Wait'], ['Data', '1']]],
    ];
    for (const [id, channel, extra] of cases) {
      const res = await c.action(originate(id, channel, extra));
      expect(header(res, 'Message')).toBe('Originate successfully queued');
      const ev = await c.waitFor(originateResponse(id), 3000);
      expect(ev.raw).toBe(want.find((m) => m.includes(`ActionID: ${id}\r\n`)));
    }
    const reasons = c.filter(eventNamed('OriginateResponse')).map((m) => header(m, 'Reason'));
    expect(reasons).toEqual(['5', '8', '3', '0', '0']);
    // The failed calls leave no channels behind, and their hangup causes are Asterisk's.
    await new Promise((r) => setTimeout(r, 100));
    const causes = c.filter(eventNamed('Hangup')).map((m) => `${header(m, 'Channel')!.replace(/-[0-9a-f]{8};/, ';')} ${header(m, 'Cause')}`);
    expect(causes).toEqual(
      expect.arrayContaining(['Local/666@test;2 17', 'Local/667@test;2 34', 'Local/668@test;1 19', 'Local/100@nosuchcontext;2 0']),
    );
  });

  it('answers request errors at once, as capture 07d', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'off');
    const all = captureMessages('07d-originate-failures');
    const nochan = await c.action([
      ['Action', 'Originate'],
      ['Application', 'Wait'],
      ['ActionID', 'orig-nochan'],
    ]);
    expect(all).toContain(nochan.raw);
    const noctx = await c.action([
      ['Action', 'Originate'],
      ['Channel', 'Local/100@test'],
      ['Exten', '100'],
      ['ActionID', 'orig-noctx-hdr'],
    ]);
    expect(all).toContain(noctx.raw);
  });

  it('originates to PJSIP endpoints, which answer after a second; unknown ones fail with Reason 0', async () => {
    const { sim, port } = await startSim();
    const c = await loggedIn(port, 'call');
    c.sendAction(originate('pj', 'PJSIP/1001', [['Application', 'Wait'], ['Data', '1']]));
    const ok = await c.waitFor(originateResponse('pj'), 3000);
    expect(header(ok, 'Response')).toBe('Success');
    expect(header(ok, 'Channel')).toMatch(/^PJSIP\/1001-[0-9a-f]{8}$/);
    expect(sim.channels.size).toBe(1);
    c.sendAction(originate('pj-bad', 'PJSIP/99', [['Application', 'Wait'], ['Data', '1']]));
    const bad = await c.waitFor(originateResponse('pj-bad'), 3000);
    expect([header(bad, 'Response'), header(bad, 'Reason')]).toEqual(['Failure', '0']);
  });
});

describe('Originate, synchronous', () => {
  it('blocks the session: a pipelined Ping is answered only after the Originate fails', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'off');
    const from = c.messages.length;
    const started = Date.now();
    c.send(
      'Action: Originate\r\nChannel: Local/668@test\r\nApplication: Wait\r\nData: 1\r\nTimeout: 400\r\nActionID: sync-noans\r\n\r\n' +
        'Action: Ping\r\nActionID: ping-behind-sync\r\n\r\n',
    );
    const ping = await c.waitFor(responseTo('ping-behind-sync'), 3000, from);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    const [first, second] = c.messages.slice(from);
    expect(first!.raw).toBe('Response: Error\r\nActionID: sync-noans\r\nMessage: Originate failed\r\n\r\n');
    expect(second).toBe(ping);
  });

  it('answers "Originate successfully queued" once answered, with no OriginateResponse event', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port);
    const res = await c.action(originate('sync-ok', 'Local/100@test', [['Application', 'Wait'], ['Data', '1']], false));
    expect(res.raw).toBe('Response: Success\r\nActionID: sync-ok\r\nMessage: Originate successfully queued\r\n\r\n');
    await c.waitFor(eventNamed('Cdr'), 3000);
    expect(c.count(eventNamed('OriginateResponse'))).toBe(0);
  });
});

describe('channel lists', () => {
  it('sends empty CoreShowChannels/Status lists exactly as capture 04', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'off');
    const want = captureMessages('04-eventlist-coreshowchannels-status');
    const csc = await c.list([
      ['Action', 'CoreShowChannels'],
      ['ActionID', 'csc-idle'],
    ]);
    expect([csc.response.raw, csc.complete.raw]).toEqual([
      want.find((m) => m.startsWith('Response: Success\r\nActionID: csc-idle'))!,
      want.find((m) => m.startsWith('Event: CoreShowChannelsComplete\r\nActionID: csc-idle'))!,
    ]);
    const st = await c.list([
      ['Action', 'Status'],
      ['ActionID', 'st-idle'],
    ]);
    expect([st.response.raw, st.complete.raw]).toEqual([
      want.find((m) => m.startsWith('Response: Success\r\nActionID: st-idle'))!,
      want.find((m) => m.startsWith('Event: StatusComplete\r\nActionID: st-idle'))!,
    ]);
  });

  it('lists live channels with the item shapes of capture 04 (ActionID 2nd in CoreShowChannel, last in Status)', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'off');
    await c.action(originate('orig-530', 'Local/530@test', [['Application', 'Wait'], ['Data', '20']]));
    await c.action(originate('orig-610', 'Local/610@test', [['Application', 'Wait'], ['Data', '20']]));
    await new Promise((r) => setTimeout(r, 700));
    const want = captureMessages('04-eventlist-coreshowchannels-status');
    const names = (raw: string): string[] => raw.split('\r\n').filter((l) => l !== '').map((l) => l.slice(0, l.indexOf(':')));
    const csc = await c.list([
      ['Action', 'CoreShowChannels'],
      ['ActionID', 'csc-busy'],
    ]);
    expect(csc.items).toHaveLength(6);
    expect(header(csc.complete, 'ListItems')).toBe('6');
    const wantItem = want.find((m) => m.startsWith('Event: CoreShowChannel\r\n'))!;
    for (const item of csc.items) expect(names(item.raw)).toEqual(names(wantItem));
    // Same channels, same fields, same links (uniqueids numbered in channel-name order on both sides).
    const byChannel = (a: string, b: string): number => {
      const name = (raw: string): string => /^Channel: (.*)$/m.exec(raw)![1]!.replace(/-[0-9a-f]{8};/, ';');
      return name(a) < name(b) ? -1 : 1;
    };
    const mask = masker();
    const theirs = masker();
    expect(csc.items.map((i) => i.raw).sort(byChannel).map((r) => mask(r).replace(/Duration: .*/, 'Duration: *'))).toEqual(
      want
        .filter((m) => m.startsWith('Event: CoreShowChannel\r\nActionID: csc-busy'))
        .sort(byChannel)
        .map((m) => theirs(m).replace(/Duration: .*/, 'Duration: *')),
    );
    const st = await c.list([
      ['Action', 'Status'],
      ['ActionID', 'st-busy'],
    ]);
    expect(st.items).toHaveLength(6);
    const wantStatus = want.find((m) => m.startsWith('Event: Status\r\n'))!;
    for (const item of st.items) expect(names(item.raw)).toEqual(names(wantStatus));
    expect(st.items.every((i) => i.headers.at(-1)![0] === 'ActionID' && header(i, 'Privilege') === 'Call')).toBe(true);
    expect(st.complete.raw).toBe('Event: StatusComplete\r\nActionID: st-busy\r\nEventList: Complete\r\nListItems: 6\r\nItems: 6\r\n\r\n');
    const cmd = await c.action([
      ['Action', 'Command'],
      ['Command', 'core show channels'],
      ['ActionID', 'cmd'],
    ]);
    expect(headers(cmd, 'Output').slice(-3)).toEqual(['6 active channels', '2 active calls', '2 calls processed']);
    expect(headers(cmd, 'Output')[0]).toBe(
      'Channel                                                          Location                         State   Application(Data)             ',
    );
  });

  it('Command core show channels / concise list live channels as capture 05', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'off');
    await c.action(originate('o', 'Local/530@test', [['Application', 'Wait'], ['Data', '10']]));
    await new Promise((r) => setTimeout(r, 1200));
    const want = captureMessages('05-command-action');
    const seq = (s: string): string => s.replace(/-[0-9a-f]{8};/g, '-X;').replace(/\d{10}\.\d+/g, 'UID');
    const plain = await c.action([
      ['Action', 'Command'],
      ['Command', 'core show channels'],
      ['ActionID', 'cmd-ch-busy'],
    ]);
    const wantPlain = want.find((m) => m.includes('ActionID: cmd-ch-busy\r\n'))!;
    // Same lines; the processed-calls count differs (the captured Asterisk had run calls before).
    expect(seq(plain.raw).replace(/\d+ calls? processed/, 'N processed')).toBe(seq(wantPlain).replace(/\d+ calls? processed/, 'N processed'));
    const concise = await c.action([
      ['Action', 'Command'],
      ['Command', 'core show channels concise'],
      ['ActionID', 'cmd-ch-concise'],
    ]);
    expect(seq(concise.raw)).toBe(seq(want.find((m) => m.includes('ActionID: cmd-ch-concise\r\n'))!));
  });

  it('module reload manager answers as capture 10b and sends the Reload event to system listeners', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'system');
    const want = captureMessages('10b-events-system-login-reload');
    const from = c.messages.length;
    const res = await c.action([
      ['Action', 'Command'],
      ['Command', 'module reload manager'],
      ['ActionID', 'reload'],
    ]);
    expect(want).toContain(res.raw);
    const reload = await c.waitFor(eventNamed('Reload'), 2000, from);
    expect(want).toContain(reload.raw);
    expect(c.count((m) => isEvent(m, 'SuccessfulAuth'))).toBe(0);
  });

  it('Hangup by regex is an EventList of ChannelHungup; an unknown channel is an error (capture 04)', async () => {
    const { sim, port } = await startSim();
    const c = await loggedIn(port, 'off');
    await c.action(originate('o', 'Local/530@test', [['Application', 'Wait'], ['Data', '20']]));
    await new Promise((r) => setTimeout(r, 100));
    const want = captureMessages('04-eventlist-coreshowchannels-status');
    const hup = await c.list([
      ['Action', 'Hangup'],
      ['Channel', '/^Local\\/530@test-.*/'],
      ['ActionID', 'hup-re'],
    ]);
    const mask = (s: string): string => s.replace(/-[0-9a-f]{8};/, '-X;');
    expect(hup.response.raw).toBe(want.find((m) => m.startsWith('Response: Success\r\nActionID: hup-re'))!);
    expect(hup.items.map((i) => mask(i.raw)).sort()).toEqual(
      want.filter((m) => m.startsWith('Event: ChannelHungup\r\n')).map(mask).sort(),
    );
    expect(hup.complete.raw).toBe(want.find((m) => m.startsWith('Event: ChannelsHungupListComplete\r\nActionID: hup-re'))!);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.channels.size).toBe(0);
    const bad = await c.action([
      ['Action', 'Hangup'],
      ['Channel', 'Local/nosuch-00000000;1'],
      ['ActionID', 'hup-bad'],
    ]);
    expect(want).toContain(bad.raw);
  });

  it('never interleaves other events into an EventList, even spaced out (listItemDelayMs)', async () => {
    const { port } = await startSim({ listItemDelayMs: 20 });
    const a = await loggedIn(port);
    const b = await loggedIn(port, 'off');
    for (let i = 0; i < 4; i++) await b.action(originate(`up-${i}`, 'Local/530@test', [['Application', 'Wait'], ['Data', '20']]));
    await new Promise((r) => setTimeout(r, 100));
    const from = a.messages.length;
    a.sendAction([
      ['Action', 'CoreShowChannels'],
      ['ActionID', 'spaced'],
    ]);
    // Meanwhile the other session makes events.
    for (let i = 0; i < 3; i++) b.sendAction(originate(`busy-${i}`, 'Local/100@test'));
    const list = await a.collectList('spaced', 3000, from);
    expect(list.items).toHaveLength(8);
    expect(list.complete.index - list.response.index).toBe(9);
    await a.waitFor(eventNamed('Newchannel'), 2000, list.complete.index);
  });

  it('stop() in the middle of a spaced-out list drops the connection', async () => {
    const { sim, port } = await startSim({ listItemDelayMs: 200 });
    const c = await loggedIn(port, 'off');
    await c.action(originate('o', 'Local/530@test', [['Application', 'Wait'], ['Data', '20']]));
    c.sendAction([
      ['Action', 'Status'],
      ['ActionID', 'st'],
    ]);
    await c.waitFor(responseTo('st'));
    await sim.stop();
    await c.waitClosed();
    expect(c.count(eventNamed('StatusComplete'))).toBe(0);
  });
});

describe('event delivery', () => {
  it('UserEvent: acked, then broadcast with every header but Action, repeats and ActionID kept', async () => {
    const { port } = await startSim();
    const a = await loggedIn(port, 'user');
    const b = await loggedIn(port, 'user');
    const res = await a.action([
      ['Action', 'UserEvent'],
      ['UserEvent', 'ProxyTest'],
      ['Header1', 'Content1'],
      ['Header1', 'again'],
      ['ActionID', 'ue'],
    ]);
    expect(res.raw).toBe('Response: Success\r\nActionID: ue\r\nMessage: Event Sent\r\n\r\n');
    const want = 'Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: ProxyTest\r\nHeader1: Content1\r\nHeader1: again\r\nActionID: ue\r\n\r\n';
    expect((await a.waitFor(eventNamed('UserEvent'), 2000, res.index)).raw).toBe(want);
    expect((await b.waitFor(eventNamed('UserEvent'))).raw).toBe(want);
  });

  it('Events: off at login means no events at all, not even its own OriginateResponse (capture 10a)', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'off');
    const res = await c.action(originate('evoff-orig', 'Local/200@test'));
    expect(header(res, 'Response')).toBe('Success');
    await new Promise((r) => setTimeout(r, 800));
    expect(c.messages.filter((m) => !isResponse(m))).toEqual([]);
    // EventMask call,user: call and user events come, dialplan ones do not.
    await c.action([
      ['Action', 'Events'],
      ['EventMask', 'call,user'],
    ]);
    const from = c.messages.length;
    await c.action(originate('evm1-orig', 'Local/200@test'));
    await c.waitFor(eventNamed('UserEvent'), 3000, from);
    await c.waitFor(originateResponse('evm1-orig'), 3000, from);
    const kinds = new Set(c.filter((m) => isEvent(m), from).map((m) => header(m, 'Privilege')));
    expect([...kinds].sort()).toEqual(['call,all', 'user,all']);
  });

  it('an unknown Events value does not turn events off', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'bogus');
    await c.waitFor(eventNamed('FullyBooted'));
  });

  it('the read-only monitor gets call and system events only (capture 09)', async () => {
    const { port } = await startSim();
    const mon = await loggedIn(port, undefined, 'monitor');
    const admin = await loggedIn(port, 'off');
    const from = mon.messages.length;
    await admin.action(originate('admin-orig', 'Local/200@test'));
    await mon.waitFor(originateResponse('admin-orig'), 3000, from);
    await mon.waitFor(eventNamed('Hangup'), 3000, from);
    const privileges = new Set(mon.filter((m) => isEvent(m), from).map((m) => header(m, 'Privilege')));
    expect([...privileges]).toEqual(['call,all']);
  });

  it('WaitEvent answers after its Timeout with nothing to report (capture 10c)', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'off');
    const from = c.messages.length;
    const started = Date.now();
    c.sendAction([
      ['Action', 'WaitEvent'],
      ['Timeout', '1'],
      ['ActionID', 'wev'],
    ]);
    const done = await c.waitFor(eventNamed('WaitEventComplete'), 3000, from);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const want = captureMessages('10c-filter-waitevent');
    expect(c.messages.slice(from).map((m) => m.raw)).toEqual([
      want.find((m) => m.startsWith('Response: Success\r\nActionID: wev'))!,
      want.find((m) => m.startsWith('Event: WaitEventComplete'))!,
    ]);
    expect(done.raw).toBe('Event: WaitEventComplete\r\nActionID: wev\r\n\r\n');
  });

  it('WaitEvent answers as soon as an event comes, with the event inside', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port, 'user');
    const other = await loggedIn(port, 'off');
    const from = c.messages.length;
    c.sendAction([
      ['Action', 'WaitEvent'],
      ['Timeout', '10'],
      ['ActionID', 'wev'],
    ]);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await other.action([
      ['Action', 'UserEvent'],
      ['UserEvent', 'Wake'],
    ]);
    await c.waitFor(eventNamed('WaitEventComplete'), 2000, from);
    expect(Date.now() - started).toBeLessThan(1000);
    const seq = c.messages.slice(from).map((m) => header(m, 'Event') ?? `Response ${header(m, 'Message')}`);
    expect(seq).toEqual(['Response Waiting for Event completed.', 'UserEvent', 'WaitEventComplete']);
  });

  it('Filter lets only matching events through', async () => {
    const { port } = await startSim();
    const c = await loggedIn(port);
    const res = await c.action([
      ['Action', 'Filter'],
      ['Operation', 'Add'],
      ['Filter', 'Event: UserEvent'],
      ['ActionID', 'flt'],
    ]);
    expect(res.raw).toBe('Response: Success\r\nActionID: flt\r\nMessage: Success\r\n\r\n');
    const from = c.messages.length;
    await c.action(originate('flt-orig', 'Local/200@test'));
    await c.waitFor(eventNamed('UserEvent'), 3000, from);
    await new Promise((r) => setTimeout(r, 700));
    expect(new Set(c.filter((m) => isEvent(m), from).map((m) => header(m, 'Event')))).toEqual(new Set(['UserEvent']));
  });
});
