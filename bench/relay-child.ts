/**
 * Benchmark child: a bare relay, the least any AMI proxy written in Node does — one session to
 * the PBX, its events written on to every client as they were read, nothing else. It is the
 * floor a proxy process adds to the PBX's own latency on this machine (a third process between
 * the PBX and its clients), as a bare node:http server is for HTTP.
 *
 * No checks at all: any login is accepted, `Action: Events` answered with a Success, and every
 * other action passed to the PBX with its ActionID prefixed by the client's number (the
 * answer goes back to that client alone, the prefix taken off). Events go to every client in the
 * chunks they came in, cut at message boundaries; no filter, no format, no Server header, no
 * output bound.
 */
import net from 'node:net';
import { cpuReading, serve } from './ipc.js';
import { SIM_ADMIN, type RelayChildStats } from './protocol.js';

const TERM = Buffer.from('\r\n\r\n', 'latin1');
const BANNER = 'Asterisk Call Manager/9.0.0\r\n';

let server: net.Server | undefined;
let upstream: net.Socket | undefined;
const listeners = new Set<net.Socket>();
const byNumber = new Map<number, net.Socket>();
let nextNumber = 0;

/** Blocks up to their final blank line: each complete message of `buf` from `from`, and what is left unfinished. */
function* messages(buf: Buffer, from: number): Generator<[number, number]> {
  let at = from;
  for (;;) {
    const end = buf.indexOf(TERM, at);
    if (end < 0) return;
    yield [at, end + TERM.length];
    at = end + TERM.length;
  }
}

/** Each header name's pattern, made once (a Ping's answer passes here). */
const HEADER_PATTERNS = new Map<string, RegExp>();

function header(block: string, name: string): string | undefined {
  let pattern = HEADER_PATTERNS.get(name);
  if (pattern === undefined) HEADER_PATTERNS.set(name, (pattern = new RegExp(`(?:^|\\r\\n)${name}: *([^\\r]*)`, 'i')));
  return pattern.exec(block)?.[1];
}

/** The PBX's output after login: events to every listener, answers to their client. */
function fromPbx(buf: Buffer): number {
  let runStart = -1;
  let runEnd = -1;
  let consumed = 0;
  const flushRun = (): void => {
    if (runStart < 0) return;
    const run = buf.subarray(runStart, runEnd);
    for (const s of listeners) s.write(run);
    runStart = -1;
  };
  for (const [start, end] of messages(buf, 0)) {
    consumed = end;
    // An answer starts `Response:`; events start `Event:`.
    if (buf[start] === 0x52 /* R */) {
      flushRun();
      let text = buf.toString('latin1', start, end);
      const id = header(text, 'ActionID');
      const m = id === undefined ? null : /^c(\d+)-(.*)$/.exec(id);
      const client = m ? byNumber.get(Number(m[1])) : undefined;
      if (!client || !m) continue;
      text = text.replace(`ActionID: ${id}`, `ActionID: ${m[2]}`);
      client.write(text, 'latin1');
      continue;
    }
    if (runStart < 0) runStart = start;
    runEnd = end;
  }
  flushRun();
  return consumed;
}

function accept(socket: net.Socket): void {
  const number = ++nextNumber;
  byNumber.set(number, socket);
  socket.setNoDelay(true);
  socket.write(BANNER, 'latin1');
  let carry = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    let used = 0;
    for (const [start, end] of messages(buf, 0)) {
      used = end;
      const text = buf.toString('latin1', start, end);
      const action = header(text, 'Action')?.toLowerCase();
      const id = header(text, 'ActionID');
      const idLine = id === undefined ? '' : `ActionID: ${id}\r\n`;
      if (action === 'login') {
        socket.write(`Response: Success\r\n${idLine}Message: Authentication accepted\r\n\r\n`, 'latin1');
        if (header(text, 'Events')?.toLowerCase() !== 'off') listeners.add(socket);
      } else if (action === 'events') {
        socket.write(`Response: Success\r\n${idLine}Events: On\r\n\r\n`, 'latin1');
        listeners.add(socket);
      } else {
        const own = `c${number}-${id ?? ''}`;
        upstream?.write(id === undefined ? text.replace(/\r\n\r\n$/, `\r\nActionID: ${own}\r\n\r\n`) : text.replace(`ActionID: ${id}`, `ActionID: ${own}`), 'latin1');
      }
    }
    carry = used === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(used));
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    listeners.delete(socket);
    byNumber.delete(number);
  });
}

/** Connects to the PBX and logs in; resolves once it said Success. */
function connectPbx(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    upstream = socket;
    socket.setNoDelay(true);
    let loggedIn = false;
    let carry = Buffer.alloc(0);
    socket.on('error', reject);
    socket.once('connect', () => {
      socket.write(`Action: Login\r\nUsername: ${SIM_ADMIN.username}\r\nSecret: ${SIM_ADMIN.secret}\r\n\r\n`, 'latin1');
    });
    socket.on('data', (chunk: Buffer) => {
      let buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      if (!loggedIn) {
        const end = buf.indexOf(TERM);
        if (end < 0) {
          carry = Buffer.from(buf);
          return;
        }
        if (!buf.toString('latin1', 0, end).includes('Response: Success')) return reject(new Error('the PBX refused the login'));
        loggedIn = true;
        resolve();
        buf = buf.subarray(end + TERM.length);
      }
      const used = fromPbx(buf);
      carry = used === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(used));
    });
  });
}

serve({
  async start(arg: { simPort: number }): Promise<number> {
    await connectPbx(arg.simPort);
    server = net.createServer({ noDelay: true }, accept);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  },
  stats(): RelayChildStats {
    return { cpu: cpuReading(), clients: listeners.size };
  },
  stop(): void {
    upstream?.destroy();
    server?.close();
    for (const s of byNumber.values()) s.destroy();
  },
});
