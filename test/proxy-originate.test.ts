/**
 * Originate through amiplex: a synchronous Originate must not block the shared PBX session
 * (nobody else waits for its call set-up), its answer is what Asterisk's synchronous Originate
 * says, and repeated headers (several `Variable:` lines) reach the PBX in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventNamed,
  header,
  headers,
  isEvent,
  responseTo,
} from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

describe('synchronous Originate', () => {
  it('a sync Originate that rings unanswered does not delay another client\'s Ping, and ends in Originate failed', async () => {
    const fx = await startFixture();
    const originator = await fx.loggedIn('alice', 'off', 'originator');
    const other = await fx.loggedIn('alice', 'off', 'other');
    const observer = await fx.loggedIn('alice', 'on', 'observer');

    const t0 = Date.now();
    originator.sendAction([
      ['Action', 'Originate'], ['Channel', 'Local/668@test'], ['Application', 'Wait'], ['Data', '1'],
      ['Timeout', '1500'], ['ActionID', 'sync-noans'],
    ]);
    // The PBX has the call ringing: the Originate is pending at amiplex.
    await observer.waitFor((m) => isEvent(m, 'Newchannel') && (header(m, 'Channel') ?? '').startsWith('Local/668@test'), 3000);
    const pingSent = Date.now();
    const pong = await other.action([['Action', 'Ping'], ['ActionID', 'ping-meanwhile']]);
    expect(header(pong, 'Ping')).toBe('Pong');
    expect(Date.now() - pingSent).toBeLessThan(1000);
    expect(originator.count(responseTo('sync-noans'))).toBe(0);

    const res = await originator.waitFor(responseTo('sync-noans'), 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(res.raw).toBe('Response: Error\r\nActionID: sync-noans\r\nMessage: Originate failed\r\n\r\n');
    // A synchronous Originate raises no OriginateResponse: nobody may see one for it.
    await observer.waitFor((m) => isEvent(m, 'Hangup') && (header(m, 'Channel') ?? '').startsWith('Local/668@test'), 3000);
    expect(observer.filter(eventNamed('OriginateResponse')).map((m) => m.raw)).toEqual([]);
    expect(originator.filter(eventNamed('OriginateResponse')).map((m) => m.raw)).toEqual([]);
  });

  it('a sync Originate that is answered gets Originate successfully queued, with its ActionID', async () => {
    const fx = await startFixture();
    const originator = await fx.loggedIn('alice', 'on', 'originator');
    const observer = await fx.loggedIn('alice', 'on', 'observer');
    const res = await originator.action(
      [['Action', 'Originate'], ['Channel', 'Local/100@test'], ['Application', 'Wait'], ['Data', '1'], ['ActionID', 'sync-ok']],
      5000,
    );
    expect(res.raw).toBe('Response: Success\r\nActionID: sync-ok\r\nMessage: Originate successfully queued\r\n\r\n');
    // Its call runs (events flow), but no OriginateResponse reaches anybody.
    await observer.waitFor((m) => isEvent(m, 'Hangup') && (header(m, 'Channel') ?? '').startsWith('Local/100@test'), 5000);
    expect(observer.filter(eventNamed('OriginateResponse')).map((m) => m.raw)).toEqual([]);
    expect(originator.filter(eventNamed('OriginateResponse')).map((m) => m.raw)).toEqual([]);
  });

  it('a sync Originate to a busy extension answers Originate failed', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const res = await c.action(
      [['Action', 'Originate'], ['Channel', 'Local/666@test'], ['Application', 'Wait'], ['Data', '1'], ['ActionID', 'sync-busy']],
      8000,
    );
    expect(res.raw).toBe('Response: Error\r\nActionID: sync-busy\r\nMessage: Originate failed\r\n\r\n');
  });

  it('events of other calls keep flowing to everyone while a sync Originate is pending', async () => {
    const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 100 } }] });
    const originator = await fx.loggedIn('alice', 'off', 'originator');
    const observer = await fx.loggedIn('alice', 'on', 'observer');
    originator.sendAction([
      ['Action', 'Originate'], ['Channel', 'Local/668@test'], ['Application', 'Wait'], ['Data', '1'],
      ['Timeout', '1500'], ['ActionID', 'sync-long'],
    ]);
    await observer.waitFor((m) => isEvent(m, 'Newchannel') && (header(m, 'Channel') ?? '').startsWith('Local/668@test'), 3000);
    const mark = observer.messages.length;
    await observer.waitForCount((m) => isEvent(m) && !(header(m, 'Channel') ?? '').startsWith('Local/668'), 10, 1000, mark, '10 events of other calls within 1 s');
    expect(originator.count(responseTo('sync-long'))).toBe(0);
    await originator.waitFor(responseTo('sync-long'), 5000);
  });
});

describe('repeated headers', () => {
  it('a UserEvent with repeated headers comes back with the repeats, order and case kept', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'on');
    const observer = await fx.loggedIn('alice', 'on', 'observer');
    const sent: Array<[string, string]> = [
      ['Action', 'UserEvent'], ['UserEvent', 'Repeats'], ['Variable', 'a=1'], ['Variable', 'b=2'], ['foo', 'x'],
      ['Variable', 'c=3'], ['FOO', 'y'], ['ActionID', 'rep'],
    ];
    await c.action(sent);
    const own = await c.waitFor(eventNamed('UserEvent', 'rep'), 3000);
    const expected = sent.slice(1);
    expect(own.headers.slice(2, 2 + expected.length)).toEqual(expected);
    const seen = await observer.waitFor(eventNamed('UserEvent'), 3000);
    expect(seen.headers.slice(2, 2 + expected.length - 1)).toEqual(expected.slice(0, -1));
    expect(headers(seen, 'Variable')).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('an Originate with three Variable lines sets the three variables on the PBX, in order', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'on');
    const queued = await c.action([
      ['Action', 'Originate'], ['Channel', 'Local/200@test'], ['Application', 'Wait'], ['Data', '1'], ['Async', 'true'],
      ['Variable', 'FIRST=1'], ['Variable', 'SECOND=2'], ['Variable', 'THIRD=3'], ['ActionID', 'vars'],
    ]);
    expect(header(queued, 'Response')).toBe('Success');
    await c.waitFor(eventNamed('OriginateResponse', 'vars'), 5000);
    // Asterisk sets them on both halves of the Local channel: on ;2 in the order given, on ;1
    // in reverse (capture 07b shows V2 before V1 there). Either way the PBX got all three, in order.
    const ours = new Set(['FIRST', 'SECOND', 'THIRD']);
    const setOn = (half: string) =>
      c.filter((m) => isEvent(m, 'VarSet') && (header(m, 'Channel') ?? '').endsWith(half) && ours.has(header(m, 'Variable') ?? ''))
        .map((m) => `${header(m, 'Variable')}=${header(m, 'Value')}`);
    await c.waitForCount((m) => isEvent(m, 'VarSet') && ours.has(header(m, 'Variable') ?? ''), 6, 3000);
    expect(setOn(';2'), c.dump()).toEqual(['FIRST=1', 'SECOND=2', 'THIRD=3']);
    expect(setOn(';1')).toEqual(['THIRD=3', 'SECOND=2', 'FIRST=1']);
  });

  it('forwards an action to the PBX with every header, in order and case, only its ActionID replaced', async () => {
    const fx = await startFixture({
      pbxes: [{
        name: 'pbx1',
        scripted: {
          respond: (a) => {
            const id = a.headers.find(([n]) => n === 'ActionID')?.[1] ?? '';
            a.session.send([['Response', 'Success'], ['ActionID', id], ['Message', 'Originate successfully queued']]);
          },
        },
      }],
    });
    const pbx = fx.pbx('pbx1').scripted!;
    const c = await fx.loggedIn('alice', 'off');
    const res = await c.action([
      ['Action', 'Originate'], ['Channel', 'Local/200@test'], ['Application', 'Wait'], ['Data', '1'], ['Async', 'true'],
      ['Variable', 'FIRST=1'], ['variable', 'second=2'], ['Variable', 'THIRD=a: b'], ['ActionID', 'fwd'], ['CallerID', '"Me" <1>'],
    ]);
    expect(res.raw).toBe('Response: Success\r\nActionID: fwd\r\nMessage: Originate successfully queued\r\n\r\n');
    const [got] = await pbx.waitForAction('Originate');
    const proxyId = got!.headers.find(([n]) => n === 'ActionID')?.[1];
    expect(proxyId).toBeDefined();
    expect(proxyId).not.toBe('fwd');
    expect(got!.raw).toBe(
      'Action: Originate\r\nChannel: Local/200@test\r\nApplication: Wait\r\nData: 1\r\nAsync: true\r\n' +
        'Variable: FIRST=1\r\nvariable: second=2\r\nVariable: THIRD=a: b\r\n' +
        `ActionID: ${proxyId}\r\nCallerID: "Me" <1>\r\n\r\n`,
    );
  });
});
