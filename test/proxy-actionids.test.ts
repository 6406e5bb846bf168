/**
 * ActionID multiplexing: many clients share one PBX session, all using the same short
 * ActionIDs; each must get exactly its own answers, with its ActionID restored byte for byte
 * (or absent when it sent none) on the response, every list item and the Complete event.
 * Events that carry an ActionID (OriginateResponse, UserEvent) reach their sender with it —
 * even with `Events: off` — and everyone else without it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventNamed,
  hasHeader,
  header,
  headers,
  isEvent,
  isResponse,
  responseTo,
  wire,
  type AmiTestClient,
  type Headers,
  type Received,
} from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil, type ProxyFixture } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

type Kind = 'ping' | 'corestatus' | 'list' | 'command';
const KINDS: readonly Kind[] = ['ping', 'corestatus', 'list', 'command'];

function actionOf(kind: Kind, id: string): Headers {
  switch (kind) {
    case 'ping':
      return [['Action', 'Ping'], ['ActionID', id]];
    case 'corestatus':
      return [['Action', 'CoreStatus'], ['ActionID', id]];
    case 'list':
      return [['Action', 'CoreShowChannels'], ['ActionID', id]];
    case 'command':
      return [['Action', 'Command'], ['Command', 'core show version'], ['ActionID', id]];
  }
}

/** Whether a response is the kind of answer `kind` gets (so another client's answer shows). */
function answersKind(kind: Kind, res: Received): boolean {
  switch (kind) {
    case 'ping':
      return header(res, 'Ping') === 'Pong';
    case 'corestatus':
      return hasHeader(res, 'CoreCurrentCalls') && !hasHeader(res, 'EventList');
    case 'list':
      return header(res, 'EventList') === 'start';
    case 'command':
      return header(res, 'Message') === 'Command output follows' && headers(res, 'Output').length > 0;
  }
}

/** Starts `n` long calls (two channels each) so CoreShowChannels has items, and waits until they are up. */
async function callsUp(fx: ProxyFixture, n: number): Promise<void> {
  const admin = await fx.loggedIn('alice', 'off', 'originator');
  for (let i = 0; i < n; i++) {
    const res = await admin.action([
      ['Action', 'Originate'], ['Channel', 'Local/530@test'], ['Application', 'Wait'], ['Data', '20'],
      ['Async', 'true'], ['ActionID', `setup-${i}`],
    ]);
    expect(header(res, 'Response')).toBe('Success');
    const outcome = await admin.waitFor(eventNamed('OriginateResponse', `setup-${i}`), 5000);
    expect(header(outcome, 'Response')).toBe('Success');
  }
  await admin.close();
}

describe('ActionID multiplexing', () => {
  it('50 clients pipelining actions with the same ActionIDs each get exactly their own answers', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 30 } }] });
    await callsUp(fx, 2);
    const CLIENTS = 50;
    const ACTIONS = 12;
    const clients: AmiTestClient[] = await Promise.all(
      Array.from({ length: CLIENTS }, (_, k) => fx.loggedIn('alice', k % 2 === 0 ? 'off' : 'on', `c${k}`)),
    );
    const plans = clients.map((c, k) => {
      const plan = Array.from({ length: ACTIONS }, (_, i) => ({ id: String(i + 1), kind: KINDS[(k + i) % KINDS.length]! }));
      return { c, plan, from: c.messages.length };
    });
    // Every client writes all its actions at once, all clients at the same time.
    for (const { c, plan } of plans) c.send(plan.map(({ kind, id }) => actionOf(kind, id).map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n').join(''));

    await Promise.all(
      plans.map(async ({ c, plan, from }) => {
        const last = plan.at(-1)!;
        if (last.kind === 'list') await c.collectList(last.id, 10_000, from);
        else await c.waitFor(responseTo(last.id), 10_000, from);
        // Wait for every list of this client to complete.
        for (const { id, kind } of plan) if (kind === 'list') await c.collectList(id, 10_000, from);

        const received = c.messages.slice(from);
        const responses = received.filter(isResponse);
        // Exactly one response per action, in the order sent, each with its own ActionID.
        expect(responses.map((r) => header(r, 'ActionID')), c.dump(from)).toEqual(plan.map((p) => p.id));
        for (const [i, { id, kind }] of plan.entries()) {
          const res = responses[i]!;
          expect(res.raw.startsWith(`Response: Success\r\nActionID: ${id}\r\n`), `${c.label} ${kind} ${id}: ${res.raw}`).toBe(true);
          expect(answersKind(kind, res), `${c.label} got ${JSON.stringify(res.raw)} for its ${kind} ${id}`).toBe(true);
          if (kind !== 'list') continue;
          const list = await c.collectList(id, 1000, from);
          // The list is contiguous: nothing between its response and its Complete but its own items.
          const between = c.messages.slice(list.response.index + 1, list.complete.index);
          expect(between.length).toBe(list.items.length);
          for (const item of list.items) {
            expect(item.headers[0]![0]).toBe('Event');
            expect(item.headers[0]![1]).toBe('CoreShowChannel');
            expect(headers(item, 'ActionID')).toEqual([id]);
          }
          expect(list.items.length).toBeGreaterThanOrEqual(4);
          expect(header(list.complete, 'Event')).toBe('CoreShowChannelsComplete');
          expect(header(list.complete, 'ListItems')).toBe(String(list.items.length));
          expect(list.complete.raw.startsWith(`Event: CoreShowChannelsComplete\r\nActionID: ${id}\r\nEventList: Complete\r\n`)).toBe(true);
        }
        // Nothing else carries an ActionID: no answers to anybody else's actions.
        const listIds = new Set(plan.filter((p) => p.kind === 'list').map((p) => p.id));
        for (const m of received) {
          if (isResponse(m)) continue;
          const id = header(m, 'ActionID');
          if (id === undefined) continue;
          expect(listIds.has(id) && /^CoreShowChannel/.test(header(m, 'Event') ?? ''), `${c.label} got ${m.raw}`).toBe(true);
        }
        // An Events: off client got nothing but its answers.
        if (Number(c.label.slice(1)) % 2 === 0) {
          expect(received.filter((m) => isEvent(m) && header(m, 'ActionID') === undefined).map((m) => m.raw)).toEqual([]);
        }
      }),
    );
    // Every action has been answered in full: nothing is left pending in amiplex.
    expect(fx.proxy.hub.servers.get('pbx1')!.router.size).toBe(0);
  });

  it('answers an action without ActionID with no ActionID header at all', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const ping = await c.action([['Action', 'Ping']]);
    expect(ping.raw).toMatch(/^Response: Success\r\nPing: Pong\r\nTimestamp: \d+\.\d+\r\n\r\n$/);

    const cmd = await c.action([['Action', 'Command'], ['Command', 'core show version']]);
    expect(hasHeader(cmd, 'ActionID')).toBe(false);
    expect(cmd.headers.slice(0, 2)).toEqual([['Response', 'Success'], ['Message', 'Command output follows']]);

    const from = c.messages.length;
    c.sendAction([['Action', 'CoreShowChannels']]);
    const complete = await c.waitFor((m) => isEvent(m, 'CoreShowChannelsComplete'), 3000, from);
    for (const m of c.messages.slice(from, complete.index + 1)) expect(hasHeader(m, 'ActionID'), m.raw).toBe(false);
    expect(c.messages[from]!.raw).toBe('Response: Success\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n');
    expect(complete.raw).toBe('Event: CoreShowChannelsComplete\r\nEventList: Complete\r\nListItems: 0\r\n\r\n');
  });

  const ODD_IDS: Array<[string, string, string]> = [
    // [what, as written after "ActionID:", as it must come back]
    ['leading blanks stripped, trailing kept, colon inside', '   spaced id: with colon  ', 'spaced id: with colon  '],
    ['a tab after the colon', '\ttabbed', 'tabbed'],
    ['200 characters', 'x'.repeat(100) + 'y'.repeat(100), 'x'.repeat(100) + 'y'.repeat(100)],
    ['panoramisk style', 'action/5b9ed35c-8fd3-4a8c-9d5c-0d4e0fbd7f4e/1/2', 'action/5b9ed35c-8fd3-4a8c-9d5c-0d4e0fbd7f4e/1/2'],
    ['UTF-8 bytes', wire(' ünïcödé-€-✓ '), wire('ünïcödé-€-✓ ')],
    ['high bytes that are not UTF-8', '\xff\xfe\x80id', '\xff\xfe\x80id'],
    ['asterisk-ami-client style', '__auth_1700000000000__', '__auth_1700000000000__'],
  ];

  it.each(ODD_IDS)('restores an odd ActionID byte for byte: %s', async (_what, written, expected) => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    let from = c.messages.length;
    c.send(Buffer.from(`Action: Ping\r\nActionID:${written}\r\n\r\n`, 'latin1'));
    const ping = await c.waitFor(isResponse, 3000, from);
    expect(JSON.stringify(ping.raw)).toMatch(/^"Response: Success\\r\\nActionID: /);
    expect(ping.raw.slice(0, ping.raw.indexOf('Timestamp: '))).toBe(`Response: Success\r\nActionID: ${expected}\r\nPing: Pong\r\n`);

    from = c.messages.length;
    c.send(Buffer.from(`Action: CoreShowChannels\r\nActionID:${written}\r\n\r\n`, 'latin1'));
    const list = await c.collectList(expected, 3000, from);
    expect(list.response.raw.startsWith(`Response: Success\r\nActionID: ${expected}\r\nEventList: start\r\n`)).toBe(true);
    expect(list.complete.raw.startsWith(`Event: CoreShowChannelsComplete\r\nActionID: ${expected}\r\nEventList: Complete\r\n`)).toBe(true);

    from = c.messages.length;
    c.send(Buffer.from(`Action: UserEvent\r\nUserEvent: Odd\r\nActionID:${written}\r\n\r\n`, 'latin1'));
    const ue = await c.waitFor(eventNamed('UserEvent'), 3000, from);
    expect(headers(ue, 'ActionID')).toEqual([expected]);
  });

  it('with two ActionID headers, the first one is the ActionID (as in Asterisk)', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const from = c.messages.length;
    c.sendAction([['Action', 'Ping'], ['ActionID', 'first'], ['ActionID', 'second']]);
    const res = await c.waitFor(isResponse, 3000, from);
    expect(res.headers.slice(0, 3)).toEqual([['Response', 'Success'], ['ActionID', 'first'], ['Ping', 'Pong']]);
  });
});

describe('list items keep the PBX\'s header order', () => {
  it('restores the ActionID where the PBX put it (last in Status items, second in CoreShowChannel)', async () => {
    const fx = await startFixture();
    await callsUp(fx, 1);
    const c = await fx.loggedIn('alice', 'off');
    const status = await c.list([['Action', 'Status'], ['ActionID', 'st']]);
    expect(status.items.length).toBe(2);
    for (const item of status.items) {
      expect(item.headers[0]).toEqual(['Event', 'Status']);
      expect(item.headers.at(-1)).toEqual(['ActionID', 'st']);
      expect(headers(item, 'ActionID')).toEqual(['st']);
    }
    expect(header(status.complete, 'ListItems')).toBe('2');
    const csc = await c.list([['Action', 'CoreShowChannels'], ['ActionID', 'csc']]);
    for (const item of csc.items) expect(item.headers.slice(0, 2)).toEqual([['Event', 'CoreShowChannel'], ['ActionID', 'csc']]);
  });

  it('Command output comes back whole, one Output header per line, in order', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const res = await c.action([['Action', 'Command'], ['Command', 'dialplan show test'], ['ActionID', 'help']]);
    expect(res.headers.slice(0, 3)).toEqual([['Response', 'Success'], ['ActionID', 'help'], ['Message', 'Command output follows']]);
    const lines = headers(res, 'Output');
    expect(lines.length).toBeGreaterThan(5);
    expect(res.headers.slice(3).every(([n]) => n === 'Output')).toBe(true);
  });
});

describe('WaitEvent', () => {
  it('answers with the client\'s ActionID and WaitEventComplete when an event comes', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'on');
    const other = await fx.loggedIn('alice', 'off', 'other');
    const from = c.messages.length;
    c.sendAction([['Action', 'WaitEvent'], ['Timeout', '5'], ['ActionID', '7']]);
    // Something to wait for, from another client with the same ActionID.
    await other.action([['Action', 'UserEvent'], ['UserEvent', 'Wake'], ['ActionID', '7']]);
    const res = await c.waitFor(responseTo('7'), 3000, from);
    expect(res.raw).toBe('Response: Success\r\nActionID: 7\r\nMessage: Waiting for Event completed.\r\n\r\n');
    const done = await c.waitFor(eventNamed('WaitEventComplete'), 3000, res.index);
    expect(done.raw).toBe('Event: WaitEventComplete\r\nActionID: 7\r\n\r\n');
    // The other client's UserEvent reached this one without ActionID.
    const wake = await c.waitFor((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'Wake', 3000, from);
    expect(hasHeader(wake, 'ActionID')).toBe(false);
  });

  it('answers after its Timeout when nothing happens', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'on');
    const t0 = Date.now();
    const res = await c.action([['Action', 'WaitEvent'], ['Timeout', '1'], ['ActionID', 'idle']], 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(res.raw).toBe('Response: Success\r\nActionID: idle\r\nMessage: Waiting for Event completed.\r\n\r\n');
    await c.waitFor(eventNamed('WaitEventComplete', 'idle'), 1000, res.index);
  });
});

describe('a client that goes away', () => {
  it('leaves nothing behind when it closes with a list in flight; others carry on', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { listItemDelayMs: 50 } }] });
    await callsUp(fx, 3);
    const leaver = await fx.loggedIn('alice', 'off', 'leaver');
    const stayer = await fx.loggedIn('alice', 'off', 'stayer');
    leaver.sendAction([['Action', 'CoreShowChannels'], ['ActionID', '1']]);
    stayer.sendAction([['Action', 'CoreShowChannels'], ['ActionID', '1']]);
    await leaver.waitFor(eventNamed('CoreShowChannel', '1'), 3000);
    await leaver.close();
    const list = await stayer.collectList('1', 5000);
    expect(list.items.length).toBe(6);
    expect(header(list.complete, 'ListItems')).toBe('6');
    await waitUntil(() => fx.proxy.hub.servers.get('pbx1')!.router.size === 0, 5000, 'the leaver\'s list to finish upstream');
    const ping = await stayer.action([['Action', 'Ping'], ['ActionID', '2']]);
    expect(header(ping, 'Ping')).toBe('Pong');
  });
});

describe('answers that go to their sender only, events that go to everyone', () => {
  it('an Events: off client gets its own EventList items and its async OriginateResponse', async () => {
    const fx = await startFixture();
    const off = await fx.loggedIn('alice', 'off', 'off');
    const on = await fx.loggedIn('alice', 'on', 'on');

    const queued = await off.action([
      ['Action', 'Originate'], ['Channel', 'Local/530@test'], ['Application', 'Wait'], ['Data', '20'],
      ['Async', 'true'], ['ActionID', 'orig-1'],
    ]);
    expect(queued.raw).toBe('Response: Success\r\nActionID: orig-1\r\nMessage: Originate successfully queued\r\n\r\n');
    const mine = await off.waitFor(eventNamed('OriginateResponse'), 5000, queued.index + 1);
    expect(headers(mine, 'ActionID')).toEqual(['orig-1']);
    expect(header(mine, 'Response')).toBe('Success');
    expect(mine.headers[0]).toEqual(['Event', 'OriginateResponse']);

    const theirs = await on.waitFor(eventNamed('OriginateResponse'), 3000);
    expect(hasHeader(theirs, 'ActionID')).toBe(false);
    expect(header(theirs, 'Channel')).toBe(header(mine, 'Channel'));
    expect(header(theirs, 'Server')).toBe('pbx1');

    const list = await off.list([['Action', 'CoreShowChannels'], ['ActionID', 'csc']]);
    expect(list.items.length).toBe(2);
    expect(header(list.complete, 'ListItems')).toBe('2');
    for (const item of list.items) expect(headers(item, 'ActionID')).toEqual(['csc']);
    // No unsolicited events at all for the Events: off client.
    expect(off.filter((m) => isEvent(m) && header(m, 'ActionID') === undefined).map((m) => m.raw)).toEqual([]);
    // The events-on client did not get the list.
    expect(on.count((m) => header(m, 'ActionID') === 'csc')).toBe(0);
  });

  it('two clients originating with the same ActionID each get their own OriginateResponse, once', async () => {
    const fx = await startFixture();
    const a = await fx.loggedIn('alice', 'on', 'a');
    const b = await fx.loggedIn('alice', 'on', 'b');
    const originate = (exten: string): Headers => [
      ['Action', 'Originate'], ['Channel', `Local/${exten}@test`], ['Application', 'Wait'], ['Data', '1'], ['Async', 'true'], ['ActionID', '1'],
    ];
    const [qa, qb] = await Promise.all([a.action(originate('100')), b.action(originate('666'))]);
    expect(header(qa, 'Message')).toBe('Originate successfully queued');
    expect(header(qb, 'Message')).toBe('Originate successfully queued');
    const mineA = await a.waitFor(eventNamed('OriginateResponse', '1'), 5000);
    const mineB = await b.waitFor(eventNamed('OriginateResponse', '1'), 5000);
    const chan = (m: Received) => header(m, 'Channel') ?? '';
    expect(chan(mineA).startsWith('Local/100@test') && header(mineA, 'Response') === 'Success', mineA.raw).toBe(true);
    expect(chan(mineB).startsWith('Local/666@test') && header(mineB, 'Response') === 'Failure', mineB.raw).toBe(true);
    const theirsA = await a.waitFor((m) => isEvent(m, 'OriginateResponse') && chan(m).startsWith('Local/666@test'), 3000);
    const theirsB = await b.waitFor((m) => isEvent(m, 'OriginateResponse') && chan(m).startsWith('Local/100@test'), 3000);
    expect(hasHeader(theirsA, 'ActionID')).toBe(false);
    expect(hasHeader(theirsB, 'ActionID')).toBe(false);
    await Promise.all([a.action([['Action', 'Ping'], ['ActionID', 'sync']]), b.action([['Action', 'Ping'], ['ActionID', 'sync']])]);
    expect(a.count(eventNamed('OriginateResponse'))).toBe(2);
    expect(b.count(eventNamed('OriginateResponse'))).toBe(2);
  });

  it('a failed async Originate reports its failure to the sender with its ActionID', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const queued = await c.action([
      ['Action', 'Originate'], ['Channel', 'Local/666@test'], ['Application', 'Wait'], ['Data', '1'],
      ['Async', 'true'], ['ActionID', 'busy'],
    ]);
    expect(header(queued, 'Message')).toBe('Originate successfully queued');
    const outcome = await c.waitFor(eventNamed('OriginateResponse', 'busy'), 5000);
    expect(header(outcome, 'Response')).toBe('Failure');
    expect(header(outcome, 'Reason')).toBe('5');
  });

  it('Action: UserEvent: the sender gets the UserEvent with its ActionID, others without', async () => {
    const fx = await startFixture();
    const sender = await fx.loggedIn('alice', 'on', 'sender');
    const offSender = await fx.loggedIn('alice', 'off', 'off-sender');
    const other = await fx.loggedIn('alice', 'on', 'other');

    const res = await sender.action([['Action', 'UserEvent'], ['UserEvent', 'ProxyTest'], ['Header1', 'Content1'], ['ActionID', '1']]);
    expect(res.raw).toBe('Response: Success\r\nActionID: 1\r\nMessage: Event Sent\r\n\r\n');
    const own = await sender.waitFor(eventNamed('UserEvent'), 3000);
    expect(own.headers.slice(0, 5)).toEqual([
      ['Event', 'UserEvent'], ['Privilege', 'user,all'], ['UserEvent', 'ProxyTest'], ['Header1', 'Content1'], ['ActionID', '1'],
    ]);
    expect(headers(own, 'ActionID')).toEqual(['1']);
    const seen = await other.waitFor(eventNamed('UserEvent'), 3000);
    expect(hasHeader(seen, 'ActionID')).toBe(false);
    expect(seen.headers.slice(0, 4)).toEqual([['Event', 'UserEvent'], ['Privilege', 'user,all'], ['UserEvent', 'ProxyTest'], ['Header1', 'Content1']]);
    // The sender (events on) got it once, as its answer, not a second time as a broadcast.
    await sender.action([['Action', 'Ping'], ['ActionID', 'sync']]);
    expect(sender.filter((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'ProxyTest').map((m) => m.raw)).toEqual([own.raw]);

    // An Events: off sender still gets the UserEvent its action raised (the outcome of its own action).
    const res2 = await offSender.action([['Action', 'UserEvent'], ['UserEvent', 'Quiet'], ['ActionID', '1']]);
    expect(header(res2, 'Message')).toBe('Event Sent');
    const own2 = await offSender.waitFor(eventNamed('UserEvent'), 3000, res2.index);
    expect(headers(own2, 'ActionID')).toEqual(['1']);
    expect(header(own2, 'UserEvent')).toBe('Quiet');
    const seen2 = await sender.waitFor((m) => isEvent(m, 'UserEvent') && header(m, 'UserEvent') === 'Quiet', 3000);
    // The first client also used ActionID 1: the other client's event must not look like its answer.
    expect(hasHeader(seen2, 'ActionID')).toBe(false);
    // The Events: off sender received exactly its response and its own event.
    expect(offSender.messages.slice(1).map((m) => header(m, 'Event') ?? header(m, 'Response'))).toEqual(['Success', 'UserEvent']);
  });
});
