/**
 * Slowloris and malformed HTTP against amiplex's HTTP listener: many connections dripping a
 * request's headers a byte at a time, and requests node's parser or amiplex must refuse (junk,
 * a 1 MB URL, 40 KB of headers, broken chunked bodies, smuggling attempts, …), while a client
 * keeps sending ordinary requests. Each bad request must get an HTTP status (4xx) rather than a
 * reset, and the ordinary requests must all succeed.
 */
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { BENCH_USER } from '../protocol.js';
import type { Scope } from '../setup.js';
import { check, ms, quantile, sleep, startAmiplex, startSim, type ChaosSettings, type Check, type Log, type ScenarioResult } from './common.js';

const AUTH = `Basic ${Buffer.from(`${BENCH_USER.username}:${BENCH_USER.secret}`).toString('base64')}`;

/** What a raw request got back: the status line, and whether the connection was reset. */
function rawRequest(port: number, data: Buffer | string, timeoutMs = 10_000): Promise<{ status: string; reset: boolean }> {
  return new Promise((resolve) => {
    let got = '';
    let reset = false;
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true;
    });
    s.on('close', () => resolve({ status: got.split('\r\n')[0] ?? '', reset }));
    setTimeout(() => s.destroy(), timeoutMs).unref();
  });
}

const MALFORMED: Array<[string, string | Buffer]> = [
  ['not HTTP at all', '\x00\x01 NOT HTTP\r\n\r\n'],
  ['a 1 MB URL', `GET /rawman?Action=Ping&X=${'a'.repeat(1024 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`],
  ['40 KB of headers', `GET /rawman?Action=Ping HTTP/1.1\r\nHost: x\r\nCookie: ${'c'.repeat(40_000)}\r\n\r\n`],
  ['a broken chunked body', `POST /rawman HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nAction=Ping\r\n0\r\n\r\n`],
  ['Content-Length and Transfer-Encoding (smuggling)', `POST /rawman HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n`],
  ['a negative Content-Length', `POST /rawman HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`],
  ['a header line without a colon', `GET /rawman?Action=Ping HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n`],
  ['an unknown method', `BREW /rawman?Action=Ping HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`],
  ['100 KB without a line end', 'A'.repeat(100_000)],
  ['a body over http_max_body', `POST /rawman HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000\r\n\r\nAction=Ping&X=${'b'.repeat(199_986)}`],
  ['a NUL in the path', `GET /raw\x00man?Action=Ping HTTP/1.1\r\nHost: x\r\n\r\n`],
];

export async function httpScenario(scope: Scope, s: ChaosSettings, log: Log): Promise<ScenarioResult> {
  const lorises = s.short ? 100 : 1000;
  const durationMs = s.short ? 4000 : 20_000;
  const sim = await startSim(scope, 0);
  const amiplex = await startAmiplex(scope, sim.port, { http: true });
  const port = amiplex.httpPort!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (): Promise<{ status: number; ms: number }> =>
    new Promise((resolve) => {
      const t = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path: '/rawman?Action=Ping', agent, headers: { Authorization: AUTH } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t }));
      });
      req.on('error', () => resolve({ status: 0, ms: performance.now() - t }));
    });

  await get(); // warm-up: the first request pays for code loaded once
  // Slowloris: connections that send a request line and then a header byte a second, for ever.
  const sockets: net.Socket[] = [];
  for (let i = 0; i < lorises; i++) {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write('GET /rawman?Action=Ping HTTP/1.1\r\nHost: x\r\n');
    sockets.push(sock);
  }
  const drip = setInterval(() => {
    for (const sock of sockets) if (!sock.destroyed) sock.write('X');
  }, 1000);
  const answers: Array<{ status: number; ms: number }> = [];
  const malformed: Check[] = [];
  const outcomes: string[] = [];
  const start = performance.now();
  try {
    // Ordinary requests all along; the malformed ones one after the other meanwhile.
    const ordinary = (async () => {
      while (performance.now() - start < durationMs) {
        answers.push(await get());
        await sleep(20);
      }
    })();
    for (const [what, data] of MALFORMED) {
      const r = await rawRequest(port, data);
      outcomes.push(`${what}: ${r.status || '(nothing)'}${r.reset ? ', reset' : ''}`);
      malformed.push(check(`${what}: answered with a 4xx status, no reset`, /^HTTP\/1\.1 4\d\d /.test(r.status) && !r.reset, r.status || '(no answer)'));
    }
    await ordinary;
  } finally {
    clearInterval(drip);
    agent.destroy();
  }
  const stillOpen = sockets.filter((x) => !x.destroyed).length;
  for (const x of sockets) x.destroy();
  const lat = answers.map((a) => a.ms);
  const failed = answers.filter((a) => a.status !== 200).length;
  log(`  ${answers.length} ordinary requests (${failed} failed) beside ${lorises} slowloris connections; p99 ${ms(quantile(lat, 0.99))}`);
  return {
    name: 'http',
    title: 'Slowloris and malformed HTTP',
    setup: `${lorises} connections send a request line, then one header byte a second; meanwhile one keep-alive client sends GET /rawman?Action=Ping for ${durationMs / 1000} s, and the malformed requests below are sent one by one, each on a connection of its own.`,
    figures: {
      'slowloris connections': lorises,
      [`still open after ${durationMs / 1000} s`]: `${stillOpen} (node closes a request whose headers are not complete within its headersTimeout, 60 s)`,
      'ordinary requests': answers.length,
      'ordinary requests failed': failed,
      'ordinary round trip p50 / p99 / max': `${ms(quantile(lat, 0.5))} / ${ms(quantile(lat, 0.99))} / ${ms(Math.max(...lat))}`,
      ...Object.fromEntries(outcomes.map((o) => [o.slice(0, o.indexOf(':')), o.slice(o.indexOf(':') + 2)])),
    },
    checks: [
      check('every ordinary request answered 200 beside the slowloris connections', failed === 0 && answers.length > 0, `${answers.length - failed} of ${answers.length}`),
      ...malformed,
    ],
    targets: [{ what: 'ordinary request p99 under 100 ms', met: quantile(lat, 0.99) < 100, measured: ms(quantile(lat, 0.99)) }],
  };
}
