/**
 * Benchmark child: the reference for the HTTP actions run, a bare node:http server in a process
 * of its own answering every request with the same fixed text (what a Ping's answer looks
 * like through /rawman), checking nothing. What Node's HTTP costs on this machine, measured
 * with the same client in the same run as amiplex.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpuReading, serve, type CpuReading } from './ipc.js';

const BODY = Buffer.from('Response: Success\r\nPing: Pong\r\nTimestamp: 1733443200.000000\r\n\r\n', 'latin1');

let server: http.Server | undefined;

serve({
  async start(): Promise<number> {
    if (server) throw new Error('already started');
    const s = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
      res.end(BODY);
    });
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return (s.address() as AddressInfo).port;
  },
  stats(): { cpu: CpuReading } {
    return { cpu: cpuReading() };
  },
  async stop(): Promise<void> {
    const s = server;
    server = undefined;
    s?.closeAllConnections();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  },
});
