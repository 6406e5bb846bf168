/**
 * Requests node's HTTP parser gives up on: answered with a status and a reason, then closed
 * without a reset.
 *
 * - Node refuses a request line plus headers over its `maxHeaderSize` (http_max_url + 8 KiB)
 *   before amiplex sees the request, with 431. When the request line itself has not ended — a
 *   URL of a megabyte — amiplex answers what it documents for a URL over http_max_url: 414.
 *   Node's parser reads most connections in C++ (no JS sees their bytes), so this is told from
 *   what it had read when it gave up (the error's rawPacket, up to bytesParsed): no line end
 *   since the last blank line (the end of an earlier request on the connection) means the
 *   request line is still going on.
 * - A client still sending (the rest of that megabyte) when the answer is written would get a
 *   TCP reset, and with it most clients lose the answer. So the connection is half-closed after
 *   the answer and what still comes is read and dropped — up to LINGER_BYTES or LINGER_MS — and
 *   only then closed.
 */
import type net from 'node:net';
import type { Logger } from '../../log.js';
import { socketRemote } from '../shared/socket-remote.js';

const LF = 10;
/** What is still read, and dropped, after the answer to a malformed request. */
const LINGER_BYTES = 4 * 1024 * 1024;
const LINGER_MS = 2000;

const answered = Symbol('amiplex.clientErrorAnswered');

type Tracked = net.Socket & { [answered]?: boolean };

type ParserError = NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: unknown };

/** Whether the request node gave up on had not ended its request line (as far as its last read shows). */
export function requestLineUnfinished(err: ParserError): boolean {
  const raw = err.rawPacket;
  if (!Buffer.isBuffer(raw)) return false;
  const parsed = typeof err.bytesParsed === 'number' && err.bytesParsed > 0 ? Math.min(err.bytesParsed, raw.length) : raw.length;
  const read = raw.subarray(0, parsed);
  const crlf = read.lastIndexOf('\r\n\r\n');
  const lf = read.lastIndexOf('\n\n');
  const start = Math.max(crlf >= 0 ? crlf + 4 : 0, lf >= 0 ? lf + 2 : 0);
  return read.indexOf(LF, start) < 0;
}

/** Node's `clientError`: answered once (414, 431 or 400, with the reason), then closed gently. */
export function answerClientError(err: ParserError, socket: net.Socket, maxUrl: number, log: Logger): void {
  const s = socket as Tracked;
  if (s[answered] === true) return;
  s[answered] = true;
  log.info({ http: socketRemote(socket), code: err.code, reason: err.message }, 'malformed http request');
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  let status: string;
  let reason: string;
  if (err.code === 'HPE_HEADER_OVERFLOW' && requestLineUnfinished(err)) {
    status = '414 URI Too Long';
    reason = `Request URL over http_max_url (${maxUrl} bytes)`;
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = '431 Request Header Fields Too Large';
    reason = 'Request headers too large';
  } else {
    status = '400 Bad Request';
    reason = `Malformed HTTP request (${err.code ?? 'parse error'})`;
  }
  const body = `${reason}\n`;
  // The parser is done with this connection: what follows is read here, and dropped.
  socket.removeAllListeners('data');
  let dropped = 0;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) socket.destroy();
  });
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
