/**
 * Demo mode: the simulated PBX generating calls, amiplex in front of it on 127.0.0.1:1234
 * with user demo / secret demo (who may open the status page at http://127.0.0.1:8088/), a
 * short "how to connect", and a live tail of the events flowing through, so a newcomer sees
 * the proxy work at once. Where 1234 or 8088 is taken (8088 is Asterisk's own HTTP port, so on
 * any machine that runs Asterisk), it listens on a free port instead and prints that one.
 */
import { createServer } from 'node:net';
import { getHeader, fromWire, type AmiMessage } from './ami/message.js';
import { parseConfig, type ProxyConfig } from './config/index.js';
import { startProxy } from './daemon.js';
import { createLogger, type LogLevel } from './log.js';
import { SimulatedPbx } from './sim/index.js';

export interface DemoOptions {
  readonly logLevel: LogLevel;
  /** The raw AMI port it prefers (default 1234); a free one when that is taken. */
  readonly listenPort?: number;
  /** The HTTP port it prefers (default 8088); a free one when that is taken. */
  readonly httpPort?: number;
  /** Simulated call traffic, events per second (default DEMO_RATE). */
  readonly rate?: number;
  readonly out?: NodeJS.WritableStream;
}

/** The demo's proxy.conf, built as text so it goes through the same validation as a real one. */
export function demoConfig(pbxPort: number, listenPort: number, httpPort: number): ProxyConfig {
  return parseConfig(
    [
      '[general]',
      `listen = 127.0.0.1:${listenPort}`,
      `http = 127.0.0.1:${httpPort}`,
      '[server demo]',
      'host = 127.0.0.1',
      `port = ${pbxPort}`,
      'username = admin',
      'secret = admin',
      '[user demo]',
      'secret = demo',
      'status = yes',
    ].join('\n'),
    '<demo>',
  );
}

const HOST = '127.0.0.1';
/** The simulated PBX's events per second unless told otherwise: a few calls, easy to follow. */
export const DEMO_RATE = 6;
/** Events the live tail shows in a second at most; past it, one line says how many more went by. */
export const TAIL_LINES_PER_SECOND = 20;

/** `port` when it can be listened on now, else 0 (any free port). */
function portOrAny(port: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen({ host: HOST, port, exclusive: true }, () => probe.close(() => resolve(port)));
  });
}

export async function startDemo(options: DemoOptions): Promise<{ stop(): Promise<void> }> {
  const out = options.out ?? process.stdout;
  const wanted = { listen: options.listenPort ?? 1234, http: options.httpPort ?? 8088 };
  const pbx = new SimulatedPbx({ rate: options.rate ?? DEMO_RATE });
  const sim = await pbx.start();
  const log = createLogger(options.logLevel, process.stderr);
  let proxy;
  for (let attempt = 1; ; attempt++) {
    const listenPort = await portOrAny(wanted.listen);
    const httpPort = await portOrAny(wanted.http);
    try {
      proxy = await startProxy(demoConfig(sim.port, listenPort, httpPort), { log });
      break;
    } catch (err) {
      // Taken between the probe and the listen: probe again (a few times).
      if (attempt < 3 && /EADDRINUSE/.test(String(err))) continue;
      await pbx.stop();
      throw err;
    }
  }
  const { host, port } = proxy.listeners[0]!;
  const web = proxy.http[0]!;
  const base = `http://${web.host}:${web.port}`;
  out.write(
    [
      'amiplex demo mode (no --config given and no ./proxy.conf here)',
      `  simulated PBX "demo" (Asterisk 22 AMI) on ${sim.host}:${sim.port}, generating calls`,
      `  amiplex listening for raw AMI clients on ${host}:${port} and for HTTP on ${base}: user demo, secret demo`,
      ...movedLines(wanted, { listen: port, http: web.port }),
      '',
      'Connect as a client and watch the events (Ctrl-C to leave):',
      `  (printf 'Action: Login\\r\\nUsername: demo\\r\\nSecret: demo\\r\\n\\r\\n'; cat) | nc ${host} ${port}`,
      'Or over HTTP: one action, and the live event stream:',
      `  curl -u demo:demo '${base}/json?Action=CoreShowChannels'`,
      `  curl -N -u demo:demo '${base}/events'`,
      `The status page (PBX, clients, live events, click-to-call): open ${base}/ and log in as demo / demo`,
      'How late amiplex\'s event loop runs (p99 since the last look; every metric: /metrics):',
      `  curl -s ${base}/metrics | grep eventloop_lag_p99`,
      '',
      'Run it for real with: npx amiplex --config proxy.conf (see proxy.conf.example)',
      '',
      'Events flowing through amiplex now:',
      '',
    ].join('\n'),
  );
  // The live tail: every event at the demo's few a second; under a flood (--demo-rate), the
  // first TAIL_LINES_PER_SECOND of each second and a count of the rest.
  let shown = 0;
  let skipped = 0;
  const unobserve = proxy.hub.observe((server, event) => {
    if (shown++ < TAIL_LINES_PER_SECOND) out.write(tailLine(server, event));
    else skipped++;
  });
  const tailClock = setInterval(() => {
    if (skipped > 0) out.write(`  … and ${skipped.toLocaleString('en-US')} more events in the last second\n`);
    shown = 0;
    skipped = 0;
  }, 1000);
  tailClock.unref();
  return {
    async stop() {
      clearInterval(tailClock);
      unobserve();
      await proxy.stop();
      await pbx.stop();
    },
  };
}

/** A note for each default port that was taken, so the newcomer knows why the address differs. */
function movedLines(wanted: { listen: number; http: number }, got: { listen: number; http: number }): string[] {
  const lines: string[] = [];
  if (got.listen !== wanted.listen) lines.push(`  (${HOST}:${wanted.listen} is taken, so raw AMI is on port ${got.listen})`);
  if (got.http !== wanted.http) lines.push(`  (${HOST}:${wanted.http} is taken${wanted.http === 8088 ? ', likely by Asterisk\'s own HTTP server' : ''}, so HTTP is on port ${got.http})`);
  return lines;
}

/** One short line per event: time, server, event name, and the channel it is about. */
function tailLine(server: string, event: AmiMessage): string {
  const time = new Date().toISOString().slice(11, 19);
  const name = getHeader(event, 'Event') ?? '?';
  const about = getHeader(event, 'Channel') ?? getHeader(event, 'DestChannel') ?? getHeader(event, 'Server') ?? '';
  return `  ${time}  ${server.padEnd(6)} ${name.padEnd(20)} ${fromWire(about)}\n`;
}
