/**
 * Writing an HTTP answer: a status and a document of AMI messages in the request's format.
 * Every error amiplex answers over HTTP is an AMI-style `Response: Error` / `Message: …`, so a
 * client reads failures the way it reads answers.
 */
import http, { ServerResponse } from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { AmiMessage } from '../../ami/message.js';
import type { FormatModule } from '../../formats.js';
import { errorResponse, type Failure } from '../../router/action-router.js';

/** The status of an answer amiplex gave itself instead of the PBX. */
export const FAILURE_STATUS: Readonly<Record<Failure, number>> = Object.freeze({
  'bad-request': 400,
  forbidden: 403,
  unavailable: 502,
  overloaded: 503,
  timeout: 504,
});

export type HeaderMap = Record<string, string | string[]>;

/** Writes a complete answer (unless the client is gone). */
export function sendDocument(
  res: http.ServerResponse,
  status: number,
  format: FormatModule,
  messages: readonly AmiMessage[],
  headers: HeaderMap = {},
): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  let body: Buffer;
  let type = format.contentType;
  try {
    body = format.document(messages);
  } catch (err) {
    // A format that cannot write this answer: say so rather than leave the client waiting.
    status = 500;
    type = 'text/plain; charset=utf-8';
    body = Buffer.from(`Response: Error\r\nMessage: the ${format.name} format could not write the answer: ${(err as Error).message}\r\n\r\n`, 'utf8');
  }
  // As a flat list of names and values: node writes it with less work than an object.
  const raw: string[] = [];
  for (const name in headers) {
    if (OWN_HEADERS.has(name)) continue;
    const value = headers[name]!;
    if (typeof value === 'string') raw.push(name, value);
    else for (const v of value) raw.push(name, v);
  }
  raw.push('Cache-Control', 'no-cache, no-store', 'Content-Type', type, 'Content-Length', String(body.length));
  res.writeHead(status, raw);
  res.end(body);
}

/** The headers sendDocument writes itself, whatever the caller's say. */
const OWN_HEADERS: ReadonlySet<string> = new Set(['Cache-Control', 'Content-Type', 'Content-Length']);

/** Writes `Response: Error` with the request's ActionID and `message` (a byte string, as every message value). */
export function sendError(
  res: http.ServerResponse,
  status: number,
  format: FormatModule,
  actionId: string | undefined,
  message: string,
  headers: HeaderMap = {},
): void {
  sendDocument(res, status, format, [errorResponse(actionId, message)], headers);
}

/**
 * A response written straight on a connection node handed over as an upgrade (`upgrade`
 * event): the same answers as any request (a WebSocket refused before its upgrade, or a request
 * that asked for an upgrade amiplex does not offer), then the connection is closed.
 */
export function responseOnSocket(req: http.IncomingMessage, socket: Duplex): http.ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as net.Socket);
  res.once('finish', () => {
    res.detachSocket(socket as net.Socket);
    socket.end();
  });
  // As node's server does for the responses of its connections: 'close' once the connection is gone.
  socket.once('close', () => res.emit('close'));
  return res;
}
