/**
 * Isolation under load, over real sockets: 50 users with different rights (servers, read
 * classes, events / deny_events, legacy and structured eventfilter, device scope) logged in at
 * once to amiplex in front of two simulated PBXes with call traffic. Every client pipelines the
 * same ActionIDs ("1", "2", … — they collide across clients all the time) over both PBXes.
 * Each must get exactly its own answers (ActionIDs restored, one response each, the values it
 * asked for, whole EventLists) and no event its user's rules refuse — each received event is
 * checked here against the user's rule, written independently of amiplex's filter code.
 */
import { afterEach, expect, it } from 'vitest';
import { header, headers, isEvent, isResponse, type AmiTestClient, type Received } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, type UserSpec } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const USERS = 50;
const ACTIONS = 30;

/** The rule of one user kind: its [user] keys, and whether an event (as received) is one it may get. */
interface Kind {
  readonly name: string;
  readonly servers: readonly string[];
  readonly spec: (name: string, i: number) => Omit<UserSpec, 'name'>;
  /** A checker per client: called with each broadcast event in order of arrival. */
  readonly admits: (i: number) => (m: Received) => boolean;
}

const classesOf = (m: Received) => (header(m, 'Privilege') ?? '').split(',').filter((c) => c !== '' && c !== 'all');
const serverOf = (m: Received) => headers(m, 'Server').at(-1);
/** The event as the PBX sent it (without the Server header amiplex appends), as legacy filters see it. */
const textOf = (m: Received) => m.raw.slice(0, m.raw.lastIndexOf('Server: '));

/** Ten devices per device-scoped user: PJSIP/1i0 … PJSIP/1i9 (the simulator's endpoints are 1000–1199). */
const devicesOf = (i: number) => Array.from({ length: 10 }, (_, d) => `PJSIP/1${String(i % 20).padStart(2, '0')}${d}`);

/**
 * Device scope, as the README states it: an event naming one of the devices (a header value that
 * is the device, a channel of it `DEVICE-hex`, or a dial string `DEVICE/…`), or one of a call
 * (Linkedid, per server) such an event was part of.
 */
function deviceChecker(devices: readonly string[]): (m: Received) => boolean {
  const calls = new Set<string>();
  const own = (v: string) => devices.some((d) => v === d || (v.startsWith(`${d}-`) && /^[0-9a-f]+$/.test(v.slice(d.length + 1).replace(/<ZOMBIE>$/, ''))) || v.startsWith(`${d}/`));
  return (m) => {
    const linked = m.headers.filter(([n]) => n.toLowerCase().endsWith('linkedid')).map(([, v]) => `${serverOf(m)}|${v}`);
    if (m.headers.some(([, v]) => own(v))) {
      for (const l of linked) calls.add(l);
      return true;
    }
    return linked.some((l) => calls.has(l));
  };
}

const BOTH = ['pbx1', 'pbx2'] as const;
const KINDS: readonly Kind[] = [
  { name: 'all', servers: BOTH, spec: () => ({}), admits: () => () => true },
  { name: 'pbx2only', servers: ['pbx2'], spec: () => ({ servers: ['pbx2'] }), admits: () => (m) => serverOf(m) === 'pbx2' },
  {
    name: 'readcall', servers: BOTH, spec: () => ({ settings: { read: 'call' } }),
    admits: () => (m) => classesOf(m).every((c) => c === 'call') && header(m, 'Privilege') !== undefined,
  },
  {
    name: 'names', servers: ['pbx1'], spec: () => ({ servers: ['pbx1'], settings: { events: 'Newchannel, Hangup, Dial*', deny_events: 'DialEnd' } }),
    admits: () => (m) => serverOf(m) === 'pbx1' && ['Newchannel', 'Hangup', 'DialBegin', 'DialState'].includes(header(m, 'Event')!),
  },
  {
    name: 'legacyfilter', servers: BOTH, spec: () => ({ lines: ['eventfilter = !Event: (VarSet|Newexten)'] }),
    admits: () => (m) => !/Event: (VarSet|Newexten)/.test(textOf(m)),
  },
  {
    name: 'structured', servers: BOTH, spec: () => ({ lines: ['eventfilter(action(include),header(Channel),method(starts_with)) = PJSIP/'] }),
    admits: () => (m) => m.headers.some(([n, v]) => n === 'Channel' && v.startsWith('PJSIP/')),
  },
  {
    name: 'desk', servers: BOTH, spec: (_n, i) => ({ settings: { channels: devicesOf(i).join(', ') } }),
    admits: (i) => deviceChecker(devicesOf(i)),
  },
];

interface Member {
  readonly kind: Kind;
  readonly user: string;
  readonly index: number;
  client?: AmiTestClient;
}

it('50 users, colliding ActionIDs, two PBXes with traffic: each gets only its own answers and the events its rules admit', async () => {
  const members: Member[] = Array.from({ length: USERS }, (_, i) => ({ kind: KINDS[i % KINDS.length]!, user: `u${String(i).padStart(2, '0')}`, index: i }));
  const fx = await startFixture({
    pbxes: [{ name: 'pbx1', sim: { rate: 400 } }, { name: 'pbx2', sim: { rate: 400 } }],
    users: members.map((m) => ({ name: m.user, ...m.kind.spec(m.user, m.index) })),
    // What is checked is who gets which answer, not how fast: on a loaded machine 1,500 actions
    // pipelined into two simulated PBXes in this one process can take longer than the fixture's 5 s.
    general: { max_pending_actions: 1000, action_timeout: 60 },
  });
  await Promise.all(members.map(async (m) => (m.client = await fx.loggedIn(m.user))));

  // Every client pipelines ActionIDs 1..ACTIONS: GetVar (a variable named after the client),
  // Ping and CoreShowChannels (an EventList), alternating between the PBXes it may use.
  const sent = new Map<string, { kind: 'getvar' | 'ping' | 'list'; variable: string }>();
  for (const m of members) {
    const c = m.client!;
    for (let n = 1; n <= ACTIONS; n++) {
      const server = m.kind.servers[n % m.kind.servers.length]!;
      const id = String(n);
      const variable = `ISO_${m.user}_${n}`;
      const kind = n % 3 === 0 ? 'list' : n % 3 === 1 ? 'getvar' : 'ping';
      sent.set(`${m.user}|${id}`, { kind, variable });
      if (kind === 'getvar') c.sendAction([['Action', 'GetVar'], ['ActionID', id], ['Variable', variable], ['Server', server]]);
      else if (kind === 'ping') c.sendAction([['Action', 'Ping'], ['ActionID', id], ['Server', server]]);
      else c.sendAction([['Action', 'CoreShowChannels'], ['ActionID', id], ['Server', server]]);
    }
  }
  const finals = (c: AmiTestClient) =>
    c.count((msg) => (isResponse(msg) && header(msg, 'EventList') === undefined) || (isEvent(msg) && header(msg, 'EventList') === 'Complete'));
  for (const m of members) await m.client!.waitFor(() => finals(m.client!) >= ACTIONS, 60_000, 0, `${ACTIONS} complete answers for ${m.user}`);
  // Enough traffic for every kind of user to have had its share (an unfiltered user has seen 2000 messages).
  for (const m of members.filter((x) => x.kind.name === 'all')) await m.client!.waitFor(() => m.client!.received >= 2000, 60_000, 0, '2000 messages');

  let eventsChecked = 0;
  const scopedSeen = new Map<string, number>();
  for (const m of members) {
    const c = m.client!;
    const responses = c.filter((msg) => isResponse(msg) && header(msg, 'ActionID') !== `login-${m.user}`);
    // One response per action, each ActionID exactly once, all of them its own.
    expect(responses.map((r) => header(r, 'ActionID')).sort(), m.user).toEqual(Array.from({ length: ACTIONS }, (_, k) => String(k + 1)).sort());
    for (const r of responses) {
      const id = header(r, 'ActionID')!;
      const what = sent.get(`${m.user}|${id}`)!;
      expect(header(r, 'Response'), `${m.user} ${id} ${r.raw}`).toBe('Success');
      if (what.kind === 'getvar') expect(header(r, 'Variable'), `${m.user} ${id}`).toBe(what.variable);
      if (what.kind === 'ping') expect(header(r, 'Ping'), `${m.user} ${id}`).toBe('Pong');
      if (what.kind === 'list') {
        expect(header(r, 'EventList'), `${m.user} ${id}`).toBe('start');
        const items = c.filter((e) => isEvent(e, 'CoreShowChannel') && header(e, 'ActionID') === id);
        const complete = c.filter((e) => isEvent(e, 'CoreShowChannelsComplete') && header(e, 'ActionID') === id);
        expect(complete, `${m.user} ${id}`).toHaveLength(1);
        expect(header(complete[0]!, 'ListItems')).toBe(String(items.length));
      } else {
        expect(header(r, 'EventList'), `${m.user} ${id}`).toBeUndefined();
      }
    }
    // Events with an ActionID are its own list items; every other event passes its user's rule.
    const admits = m.kind.admits(m.index);
    for (const e of c.messages) {
      if (!isEvent(e)) continue;
      const id = header(e, 'ActionID');
      if (id !== undefined) {
        expect(['CoreShowChannel', 'CoreShowChannelsComplete'], `${m.user}: ${e.raw}`).toContain(header(e, 'Event'));
        expect(sent.get(`${m.user}|${id}`)?.kind, `${m.user}: ${e.raw}`).toBe('list');
        continue;
      }
      if (header(e, 'Event') === 'FullyBooted' && serverOf(e) === undefined) continue;
      expect(m.kind.servers, `${m.user}: ${e.raw}`).toContain(serverOf(e));
      expect(admits(e), `${m.user} (${m.kind.name}) must not receive ${e.raw}`).toBe(true);
      eventsChecked++;
      scopedSeen.set(m.kind.name, (scopedSeen.get(m.kind.name) ?? 0) + 1);
    }
  }
  // Not vacuous: the traffic reached every kind of user.
  for (const k of KINDS) expect(scopedSeen.get(k.name) ?? 0, `events received by ${k.name} users`).toBeGreaterThan(0);
  expect(eventsChecked).toBeGreaterThan(1000);
}, 180_000);
