/**
 * Transparency: through amiplex a client gets byte for byte what the PBX itself answers —
 * same headers, order, case, repeats, leading blanks in Command output, big responses —
 * only over a shared session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AmiTestClient, isResponse, type Headers, type Received } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

/** The answer to one action: its response and, for an EventList, everything up to Complete. */
async function answer(c: AmiTestClient, hs: Headers): Promise<string[]> {
  const from = c.messages.length;
  const res = await c.action(hs, 5000);
  const id = hs.find(([n]) => n.toLowerCase() === 'actionid')![1];
  const isList = res.headers.some(([n, v]) => n === 'EventList' && v === 'start');
  if (!isList) return [res.raw];
  const list = await c.collectList(id, 5000, from);
  return [list.response, ...list.items, list.complete].map((m: Received) => m.raw);
}

const ACTIONS: Array<[string, Headers]> = [
  ['CoreSettings', [['Action', 'CoreSettings'], ['ActionID', 'cs']]],
  ['Command with indented output', [['Action', 'Command'], ['Command', 'dialplan show test'], ['ActionID', 'dp']]],
  ['Command that does not exist', [['Action', 'Command'], ['Command', 'core show nothing'], ['ActionID', 'bad-cmd']]],
  ['Command without Command', [['Action', 'Command'], ['ActionID', 'no-cmd']]],
  ['ListCommands (one big response)', [['Action', 'ListCommands'], ['ActionID', 'lc']]],
  ['CoreShowChannels, idle', [['Action', 'CoreShowChannels'], ['ActionID', 'csc']]],
  ['Status, idle', [['Action', 'Status'], ['ActionID', 'st']]],
  ['unknown action', [['Action', 'NoSuchAction'], ['ActionID', 'unk']]],
  ['Getvar of an unset global', [['Action', 'Getvar'], ['Variable', 'NOPE'], ['ActionID', 'gv']]],
  ['Originate without Channel', [['Action', 'Originate'], ['Application', 'Wait'], ['ActionID', 'nochan']]],
  ['lower-case action name', [['action', 'coresettings'], ['actionid', 'lower']]],
];

describe('answers are the PBX\'s own, byte for byte', () => {
  it.each(ACTIONS)('%s', async (_what, hs) => {
    const fx = await startFixture();
    const direct = await AmiTestClient.connect(fx.pbx('pbx1').port, '127.0.0.1', { label: 'direct' });
    try {
      await direct.login('admin', 'admin', 'off');
      const viaProxy = await fx.loggedIn('alice', 'off');
      const expected = await answer(direct, hs);
      const got = await answer(viaProxy, hs);
      expect(got).toEqual(expected);
    } finally {
      await direct.close();
    }
  });

  it('pipelined actions are answered in the order sent', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const from = c.messages.length;
    c.send(ACTIONS.map(([, hs]) => hs.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n').join(''));
    const last = ACTIONS.at(-1)![1].find(([n]) => n.toLowerCase() === 'actionid')![1];
    await c.waitFor((m) => isResponse(m) && m.headers.some(([n, v]) => n === 'ActionID' && v === last), 5000, from);
    const order = c.filter(isResponse, from).map((m) => m.headers.find(([n]) => n === 'ActionID')?.[1]);
    expect(order).toEqual(ACTIONS.map(([, hs]) => hs.find(([n]) => n.toLowerCase() === 'actionid')![1]));
  });

  it('answers pipelined actions in order, also those amiplex answers itself', async () => {
    const fx = await startFixture();
    const c = await fx.loggedIn('alice', 'off');
    const pipeline: Headers[] = [
      [['Action', 'CoreSettings'], ['ActionID', '1']],
      [['Action', 'Events'], ['EventMask', 'off'], ['ActionID', '2']],
      [['Action', 'Ping'], ['ActionID', '3']],
      [['Action', 'ProxyListServers'], ['ActionID', '4']],
      [['Action', 'Ping'], ['ActionID', '5']],
      [['Action', 'Ping'], ['Server', 'nowhere'], ['ActionID', '6']],
      [['Action', 'Ping'], ['ActionID', '7']],
      [['Action', 'Login'], ['Username', 'alice'], ['Secret', 'alice-secret'], ['ActionID', '8']],
      [['Action', 'Ping'], ['ActionID', '9']],
    ];
    const from = c.messages.length;
    c.send(pipeline.map((hs) => hs.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n').join(''));
    await c.waitForCount(isResponse, pipeline.length, 5000, from);
    const order = c.filter(isResponse, from).map((m) => m.headers.find(([n]) => n === 'ActionID')?.[1]);
    expect(order).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  const RAW: Array<[string, string]> = [
    ['an empty ActionID', 'Action: Ping\r\nActionID: \r\n\r\n'],
    ['an ActionID of blanks only', 'Action: Ping\r\nActionID:    \r\n\r\n'],
    ['LF-only line endings', 'Action: Ping\nActionID: lf-only\n\n'],
    ['no space after the colon', 'Action:Ping\r\nActionID:nospace\r\n\r\n'],
    ['a NUL inside the ActionID', 'Action: Ping\r\nActionID: a\x00b\r\n\r\n'],
    ['trailing spaces on the action name', 'Action: Ping   \r\nActionID: trailing\r\n\r\n'],
    ['a space before a header name', ' Action: Ping\r\nActionID: leading-space\r\n\r\n'],
    ['an empty Action', 'Action: \r\nActionID: m7\r\n\r\n'],
  ];

  it.each(RAW)('answers raw input with %s exactly as the PBX does', async (_what, text) => {
    const fx = await startFixture();
    const direct = await AmiTestClient.connect(fx.pbx('pbx1').port, '127.0.0.1', { label: 'direct' });
    try {
      await direct.login('admin', 'admin', 'off');
      const viaProxy = await fx.loggedIn('alice', 'off');
      const replies: string[][] = [];
      for (const c of [direct, viaProxy]) {
        const from = c.messages.length;
        c.send(Buffer.from(text, 'latin1'));
        await c.action([['Action', 'Ping'], ['ActionID', 'marker']]);
        replies.push(c.filter(isResponse, from).map((m) => m.raw.replace(/Timestamp: [\d.]+/, 'Timestamp: T')));
      }
      expect(replies[1]).toEqual(replies[0]);
    } finally {
      await direct.close();
    }
  });
});
