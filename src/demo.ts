/**
 * Demo mode: the simulated PBX generating calls, amiplex in front of it on 127.0.0.1:1234
 * with user demo / secret demo (who may open the status page at http://127.0.0.1:8088/), a
 * short "how to connect", and a live tail of the events flowing through, so a newcomer sees
 * the proxy work at once.
 */
import { getHeader, fromWire, type AmiMessage } from './ami/message.js';
import { parseConfig, type ProxyConfig } from './config/index.js';
import { startProxy } from './daemon.js';
import { createLogger, type LogLevel } from './log.js';
import { SimulatedPbx } from './sim/index.js';

export interface DemoOptions {
  readonly logLevel: LogLevel;
  readonly listenPort?: number;
  readonly httpPort?: number;
  /** Simulated call traffic, events per second. */
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

export async function startDemo(options: DemoOptions): Promise<{ stop(): Promise<void> }> {
  const out = options.out ?? process.stdout;
  const listenPort = options.listenPort ?? 1234;
  const httpPort = options.httpPort ?? 8088;
  const pbx = new SimulatedPbx({ rate: options.rate ?? 6 });
  const sim = await pbx.start();
  const log = createLogger(options.logLevel, process.stderr);
  let proxy;
  try {
    proxy = await startProxy(demoConfig(sim.port, listenPort, httpPort), { log });
  } catch (err) {
    await pbx.stop();
    throw err;
  }
  const { host, port } = proxy.listeners[0]!;
  const web = proxy.http[0]!;
  const base = `http://${web.host}:${web.port}`;
  out.write(
    [
      'amiplex demo mode (no --config given and no ./proxy.conf here)',
      `  simulated PBX "demo" (Asterisk 22 AMI) on ${sim.host}:${sim.port}, generating calls`,
      `  amiplex listening for raw AMI clients on ${host}:${port} and for HTTP on ${base}: user demo, secret demo`,
      '',
      'Connect as a client and watch the events (Ctrl-C to leave):',
      `  (printf 'Action: Login\\r\\nUsername: demo\\r\\nSecret: demo\\r\\n\\r\\n'; cat) | nc ${host} ${port}`,
      'Or over HTTP: one action, and the live event stream:',
      `  curl -u demo:demo '${base}/json?Action=CoreShowChannels'`,
      `  curl -N -u demo:demo '${base}/events'`,
      `The status page (PBX, clients, live events, click-to-call): open ${base}/ and log in as demo / demo`,
      '',
      'Run it for real with: npx amiplex --config proxy.conf (see proxy.conf.example)',
      '',
      'Events flowing through amiplex now:',
      '',
    ].join('\n'),
  );
  const unobserve = proxy.hub.observe((server, event) => out.write(tailLine(server, event)));
  return {
    async stop() {
      unobserve();
      await proxy.stop();
      await pbx.stop();
    },
  };
}

/** One short line per event: time, server, event name, and the channel it is about. */
function tailLine(server: string, event: AmiMessage): string {
  const time = new Date().toISOString().slice(11, 19);
  const name = getHeader(event, 'Event') ?? '?';
  const about = getHeader(event, 'Channel') ?? getHeader(event, 'DestChannel') ?? getHeader(event, 'Server') ?? '';
  return `  ${time}  ${server.padEnd(6)} ${name.padEnd(20)} ${fromWire(about)}\n`;
}
