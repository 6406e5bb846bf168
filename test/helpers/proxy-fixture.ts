/**
 * Integration-test fixture: simulated PBXes (or scripted ones) plus a running amiplex,
 * configured from proxy.conf TEXT with `listen = 127.0.0.1:0`, so every test gets free ports.
 *
 *   afterEach(stopAllFixtures);
 *   const fx = await startFixture({ pbxes: [{ name: 'pbx1', rate: 50 }] });
 *   const c = await fx.loggedIn('alice');
 *
 * Everything a fixture starts (PBXes, amiplex, test clients) is stopped by `stop()`, which is
 * idempotent and never throws; `stopAllFixtures()` stops every fixture of the test file.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { pino } from 'pino';
import { parseConfig, type ProxyConfig } from '../../src/config/index.js';
import { startProxy, type RunningProxy } from '../../src/daemon.js';
import type { FormatRegistry } from '../../src/formats.js';
import type { UpstreamState } from '../../src/upstream/upstream-session.js';
import type { SimulatedPbx as SimulatedPbxType } from '../../src/sim/index.js';
import { AmiTestClient, encodeAction, type Headers } from './ami-test-client.js';
import { waitUntil } from '../../bench/numbers.js';

/** Keys of a section; an array is a repeatable key written once per value, in order. */
export type Settings = Record<string, string | number | readonly (string | number)[]>;

export interface SimSpec {
  /** Call traffic, events per second (0 = none). */
  readonly rate?: number;
  readonly listItemDelayMs?: number;
  readonly authFailDelayMs?: number;
  /** Anything else the simulator takes. */
  readonly extra?: Record<string, unknown>;
}

export interface PbxSpec {
  /** The `[server NAME]` section name. */
  readonly name: string;
  /** A simulated PBX (the default) … */
  readonly sim?: SimSpec;
  /** … or a scripted one, answering only what the test tells it to. */
  readonly scripted?: ScriptedPbxOptions;
  /** Keys of its [server] section, over the fixture's defaults. */
  readonly server?: Settings;
  /** Behind TLS with this certificate and key (PEM): amiplex reaches it through a TLS front. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface UserSpec {
  readonly name: string;
  readonly secret?: string;
  readonly servers?: readonly string[];
  readonly serverHeader?: boolean;
  /** The user's output format for raw TCP connections. */
  readonly format?: string;
  /** Any other keys of its [user] section (`status`, `channels`, `context`, …). */
  readonly settings?: Settings;
  /**
   * Raw lines appended to its [user] section, as written: keys that repeat or carry a
   * key of their own (`permit = …` twice, `eventfilter(action(exclude),name(VarSet)) =`).
   */
  readonly lines?: readonly string[];
}

/** A `[listener NAME]` section: one more raw AMI listener (on a free port) with its format. */
export interface ListenerSpec {
  readonly name: string;
  readonly format?: string;
  /** Its address (default `127.0.0.1:0`), e.g. `[::1]:0`. */
  readonly listen?: string;
  /** Any other keys of its section (`tls`, `permit`, …). */
  readonly settings?: Settings;
}

export interface FixtureOptions {
  /** Default: one simulated PBX `pbx1` with no call traffic. */
  readonly pbxes?: readonly PbxSpec[];
  /** Default: `alice` (secret `alice-secret`) who may use every server. */
  readonly users?: readonly UserSpec[];
  /** Keys of [general], over the fixture's defaults. */
  readonly general?: Settings;
  /** Wait for every PBX session to be up before returning (default true). */
  readonly waitUp?: boolean;
  /** Output formats for amiplex (default: the built-in ones). */
  readonly formats?: FormatRegistry;
  /** Extra listeners; their bound addresses follow the [general] one in `proxy.listeners`. */
  readonly listeners?: readonly ListenerSpec[];
  /**
   * The path proxy.conf is taken to be read from (default `test-proxy.conf`): paths in it
   * (tls_cert, tls_ca, …) are relative to its folder.
   */
  readonly configFile?: string;
}

/** One PBX of a fixture: a simulator or a scripted server, which a test can stop and restart. */
export interface PbxHandle {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly sim?: SimulatedPbxType;
  readonly scripted?: ScriptedPbx;
  /** Stops it (a PBX crash for amiplex). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

export interface ProxyFixture {
  readonly proxy: RunningProxy;
  readonly config: ProxyConfig;
  readonly configText: string;
  readonly host: string;
  readonly port: number;
  /** What amiplex logged (JSON lines, level info and up). */
  readonly logs: string[];
  pbx(name: string): PbxHandle;
  /** Connects a test client (banner read); closed by stop(). */
  client(label?: string): Promise<AmiTestClient>;
  /** Connects and logs in (secret defaults to the user's from the fixture). */
  loggedIn(user?: string, events?: string, label?: string): Promise<AmiTestClient>;
  /** Waits until amiplex's session to that PBX is in `state`. */
  waitServerState(name: string, state: UpstreamState, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_USER: UserSpec = { name: 'alice', secret: 'alice-secret' };

const GENERAL_DEFAULTS: Settings = {
  listen: '127.0.0.1:0',
  auth_fail_delay: 0.2,
  action_timeout: 5,
  authtimeout: 30,
  // Tests stop proxies often: at most 0.5 s waiting for PBX answers when stopping.
  shutdown_timeout: 1,
  log_level: 'info',
};

const SERVER_DEFAULTS: Settings = {
  host: '127.0.0.1',
  username: 'admin',
  secret: 'admin',
  keepalive: 0,
  connect_timeout: 2,
  reconnect_min: 0.05,
  reconnect_max: 0.2,
};

const running = new Set<ProxyFixture>();

/** Stops every fixture started by this test file (use in afterEach). */
export async function stopAllFixtures(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((fx) => fx.stop()));
}

/** Polls a condition every 10 ms (shared with the benchmark). */
export { waitUntil };

/** The simulator module, loaded lazily so tests that do not need it run without it. */
async function simulatorClass(): Promise<typeof SimulatedPbxType> {
  const mod = await import('../../src/sim/index.js');
  return mod.SimulatedPbx;
}

/** Starts a simulated PBX alone (port 0 unless given). */
export async function startSim(spec: SimSpec = {}, port = 0): Promise<{ sim: SimulatedPbxType; host: string; port: number }> {
  const SimulatedPbx = await simulatorClass();
  const options: Record<string, unknown> = { port, rate: spec.rate ?? 0, ...spec.extra };
  if (spec.listItemDelayMs !== undefined) options.listItemDelayMs = spec.listItemDelayMs;
  if (spec.authFailDelayMs !== undefined) options.authFailDelayMs = spec.authFailDelayMs;
  const sim = new SimulatedPbx(options as ConstructorParameters<typeof SimulatedPbx>[0]);
  const address = await sim.start();
  return { sim, host: address.host, port: address.port };
}

function section(header: string, settings: Settings): string[] {
  const lines = Object.entries(settings).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k} = ${String(one)}`));
  return [header, ...lines, ''];
}

/** The proxy.conf text of a fixture. */
export function fixtureConfigText(
  pbxes: ReadonlyArray<{ name: string; port: number; server?: Settings }>,
  users: readonly UserSpec[],
  general: Settings = {},
  listeners: readonly ListenerSpec[] = [],
): string {
  const lines = section('[general]', { ...GENERAL_DEFAULTS, ...general });
  for (const p of pbxes) lines.push(...section(`[server ${p.name}]`, { ...SERVER_DEFAULTS, port: p.port, ...p.server }));
  for (const u of users) {
    const s: Settings = { secret: u.secret ?? `${u.name}-secret` };
    if (u.servers) s.servers = u.servers.join(', ');
    if (u.serverHeader !== undefined) s.server_header = u.serverHeader ? 'yes' : 'no';
    if (u.format !== undefined) s.format = u.format;
    Object.assign(s, u.settings);
    // A user with a secret_hash has no plain secret.
    if (u.settings?.secret_hash !== undefined && u.secret === undefined) delete s.secret;
    const userLines = section(`[user ${u.name}]`, s);
    if (u.lines) userLines.splice(-1, 0, ...u.lines);
    lines.push(...userLines);
  }
  for (const l of listeners) {
    lines.push(...section(`[listener ${l.name}]`, { listen: l.listen ?? '127.0.0.1:0', ...(l.format !== undefined ? { format: l.format } : {}), ...l.settings }));
  }
  return lines.join('\n');
}

export async function startFixture(options: FixtureOptions = {}): Promise<ProxyFixture> {
  const specs = options.pbxes ?? [{ name: 'pbx1' }];
  const users = options.users ?? [DEFAULT_USER];
  const handles = new Map<string, PbxHandle>();
  const clients = new Set<AmiTestClient>();
  const logs: string[] = [];
  let proxy: RunningProxy | undefined;
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      running.delete(fixture);
      await Promise.allSettled([...clients].map((c) => c.close()));
      if (proxy) await proxy.stop().catch(() => undefined);
      await Promise.allSettled([...handles.values()].map((h) => h.stop()));
    })();
    return stopped;
  };
  // A placeholder registered at once, so a failure half-way through still cleans up.
  const fixture = { stop } as ProxyFixture;
  running.add(fixture);

  try {
    for (const spec of specs) handles.set(spec.name, await startPbx(spec));
    const configText = fixtureConfigText(
      specs.map((s) => ({ name: s.name, port: handles.get(s.name)!.port, server: s.server })),
      users,
      options.general,
      options.listeners,
    );
    const config = parseConfig(configText, options.configFile ?? 'test-proxy.conf');
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (logs.length < 10_000) logs.push(chunk.toString('utf8'));
        cb();
      },
    });
    const log = pino({ level: String(options.general?.log_level ?? 'info') as pino.Level }, sink);
    proxy = await startProxy(config, options.formats ? { log, formats: options.formats } : { log });
    const listener = proxy.listeners[0]!;
    const p = proxy;
    const secretOf = (name: string): string => {
      const u = users.find((x) => x.name === name);
      return u?.secret ?? `${name}-secret`;
    };
    Object.assign(fixture, {
      proxy: p,
      config,
      configText,
      host: listener.host,
      port: listener.port,
      logs,
      pbx(name: string): PbxHandle {
        const h = handles.get(name);
        if (!h) throw new Error(`no PBX ${name} in this fixture`);
        return h;
      },
      async client(label?: string): Promise<AmiTestClient> {
        const c = await AmiTestClient.connect(listener.port, listener.host, label === undefined ? {} : { label });
        clients.add(c);
        return c;
      },
      async loggedIn(user = DEFAULT_USER.name, events?: string, label?: string): Promise<AmiTestClient> {
        const c = await fixture.client(label ?? user);
        await c.login(user, secretOf(user), events);
        return c;
      },
      async waitServerState(name: string, state: UpstreamState, timeoutMs = 5000): Promise<void> {
        const slot = p.hub.servers.get(name);
        if (!slot) throw new Error(`no server ${name} in amiplex`);
        await waitUntil(() => slot.session.state === state, timeoutMs, `server ${name} to be ${state} (is ${slot.session.state})`);
      },
    } satisfies Omit<ProxyFixture, 'stop'>);
    if (options.waitUp !== false) {
      for (const spec of specs) await fixture.waitServerState(spec.name, 'up');
    }
    return fixture;
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startPbx(spec: PbxSpec): Promise<PbxHandle> {
  if (spec.tls) return behindTls(await startPbx({ ...spec, tls: undefined }), spec.tls);
  if (spec.scripted) {
    const scripted = new ScriptedPbx(spec.scripted);
    const address = await scripted.start();
    return {
      name: spec.name,
      host: address.host,
      port: address.port,
      scripted,
      stop: () => scripted.stop(),
      start: async () => {
        await scripted.start(address.port);
      },
    };
  }
  const { sim, host, port } = await startSim(spec.sim ?? {});
  let up = true;
  return {
    name: spec.name,
    host,
    port,
    sim,
    async stop() {
      if (!up) return;
      up = false;
      await sim.stop();
    },
    async start() {
      if (up) return;
      await sim.start();
      up = true;
    },
  };
}

// ---- a PBX behind TLS -------------------------------------------------------------------------

/**
 * A TLS server in front of a plain AMI server, relaying each connection: a PBX with Asterisk's
 * tlsenable, as amiplex sees it. Stopping the handle stops both; starting starts both again
 * on the same ports.
 */
async function behindTls(inner: PbxHandle, pem: { cert: string; key: string }): Promise<PbxHandle> {
  let server: tls.Server | undefined;
  const sockets = new Set<net.Socket>();
  let port = 0;
  const listen = async () => {
    const s = tls.createServer({ cert: pem.cert, key: pem.key }, (secure) => {
      const plain = net.connect({ host: inner.host, port: inner.port });
      for (const sock of [secure, plain]) {
        sockets.add(sock);
        sock.on('error', () => undefined);
        sock.on('close', () => sockets.delete(sock));
      }
      secure.pipe(plain).pipe(secure);
      secure.on('close', () => plain.destroy());
      plain.on('close', () => secure.destroy());
    });
    s.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as net.AddressInfo).port;
    server = s;
  };
  await listen();
  return {
    ...inner,
    port,
    async stop() {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      await inner.stop();
    },
    async start() {
      await inner.start();
      if (!server) await listen();
    },
  };
}

// ---- a scripted AMI server ------------------------------------------------------------------

export interface ReceivedAction {
  readonly headers: Array<[string, string]>;
  /** The exact bytes, terminating blank line included (latin1). */
  readonly raw: string;
  readonly session: ScriptedSession;
  readonly at: number;
}

export interface ScriptedPbxOptions {
  /** Banner version (default 11.0.0). */
  readonly version?: string;
  /** Answer Ping (default true). */
  readonly answerPing?: boolean;
  /**
   * Called for every action other than Login, Logoff, Challenge and (when answered) Ping.
   * Write answers with `session.send()`; do nothing to stay silent.
   */
  readonly respond?: (action: ReceivedAction) => void;
}

/** One connection to a ScriptedPbx. */
export class ScriptedSession {
  constructor(readonly socket: net.Socket) {}

  send(hs: Headers): void {
    if (!this.socket.destroyed) this.socket.write(encodeAction(hs), 'latin1');
  }
}

/**
 * A tiny AMI server that speaks the banner, Login and Logoff like Asterisk and otherwise does
 * only what the test says: it records every action it receives, byte for byte.
 */
export class ScriptedPbx {
  readonly actions: ReceivedAction[] = [];
  readonly sessions = new Set<ScriptedSession>();
  private server: net.Server | undefined;

  constructor(private readonly options: ScriptedPbxOptions = {}) {}

  async start(port = 0): Promise<{ host: string; port: number }> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const bound = server.address() as net.AddressInfo;
    return { host: '127.0.0.1', port: bound.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Actions named `name` (case-insensitive) received so far. */
  named(name: string): ReceivedAction[] {
    return this.actions.filter((a) => a.headers.find(([n]) => n.toLowerCase() === 'action')?.[1].toLowerCase() === name.toLowerCase());
  }

  async waitForAction(name: string, timeoutMs = 3000, count = 1): Promise<ReceivedAction[]> {
    await waitUntil(() => this.named(name).length >= count, timeoutMs, `${count} ${name} action(s) at the scripted PBX`);
    return this.named(name);
  }

  private accept(socket: net.Socket): void {
    const session = new ScriptedSession(socket);
    this.sessions.add(session);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sessions.delete(session));
    socket.write(`Asterisk Call Manager/${this.options.version ?? '11.0.0'}\r\n`);
    let partial = '';
    let frame = '';
    let hs: Array<[string, string]> = [];
    socket.on('data', (chunk: Buffer) => {
      partial += chunk.toString('latin1');
      let pos = 0;
      for (;;) {
        const lf = partial.indexOf('\n', pos);
        if (lf < 0) break;
        const line = partial.slice(pos, lf + 1);
        pos = lf + 1;
        const text = line.replace(/\r?\n$/, '');
        if (text === '') {
          if (hs.length > 0) this.onAction({ headers: hs, raw: frame + line, session, at: Date.now() });
          hs = [];
          frame = '';
          continue;
        }
        frame += line;
        const colon = text.indexOf(':');
        if (colon > 0) hs.push([text.slice(0, colon), text.slice(colon + 1).replace(/^[ \t]+/, '')]);
      }
      partial = partial.slice(pos);
    });
  }

  private onAction(action: ReceivedAction): void {
    this.actions.push(action);
    const get = (name: string) => action.headers.find(([n]) => n.toLowerCase() === name)?.[1];
    const name = (get('action') ?? '').toLowerCase();
    const id = get('actionid');
    const withId = (first: [string, string], ...rest: Array<[string, string]>): Headers =>
      id === undefined ? [first, ...rest] : [first, ['ActionID', id], ...rest];
    switch (name) {
      case 'login':
        action.session.send(withId(['Response', 'Success'], ['Message', 'Authentication accepted']));
        if (!/^(off|no|false|0)$/i.test(get('events') ?? 'on')) {
          action.session.send([['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Uptime', '1'], ['LastReload', '1'], ['Status', 'Fully Booted']]);
        }
        return;
      case 'logoff':
        action.session.send(withId(['Response', 'Goodbye'], ['Message', 'Thanks for all the fish.']));
        action.session.socket.end();
        return;
      case 'ping':
        if (this.options.answerPing !== false) {
          action.session.send(withId(['Response', 'Success'], ['Ping', 'Pong'], ['Timestamp', (Date.now() / 1000).toFixed(6)]));
          return;
        }
        break;
      default:
        break;
    }
    this.options.respond?.(action);
  }
}
