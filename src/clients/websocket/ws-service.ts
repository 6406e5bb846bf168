/**
 * `GET /ws` on every HTTP and HTTPS listener: the upgrade to a WebSocket (the `ws` package
 * frames and handshakes; docs/websocket.md is the contract), refused before it — with a status
 * and an AMI-style reason in json, as any HTTP request — when:
 *
 *     shutting down 503 · Origin neither the listener's own nor in cors_origins 403 ·
 *     URL over http_max_url 414 · not GET 405 · not `Upgrade: websocket` 400 ·
 *     unknown subprotocol 400 · bad query 400 · no or wrong credentials 401 (wrong ones
 *     counted, locked out, answered after auth_fail_delay) · a server= the user may not use 403
 *
 * The sockets it opened: their keep-alive (a ping every interval; a peer that has not answered
 * the previous one is cut), a reload (a socket whose user is gone or whose address its user's
 * permit/deny now refuse is closed, the others take the new user), and the listener's close.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FormatModule } from '../../formats.js';
import { SUBPROTOCOLS, type FrameServer } from '../../../formats/websocket.js';
import { refuseSubscription, subscriptionOf, type Subscription } from '../http/event-subscription.js';
import { remoteOf, type HttpContext } from '../http/http-context.js';
import type { CorsPolicy } from '../http/http-cors.js';
import { responseOnSocket, sendError, type HeaderMap } from '../http/http-reply.js';
import type { SseFeed } from '../sse/sse-feed.js';
import { CLOSE, WebSocketSession, type WsHost } from './ws-session.js';

/** The largest frame a client may send (an action of 128 headers of 1024 bytes fits many times over); a larger one closes the socket (1009). */
export const MAX_CLIENT_FRAME = 1024 * 1024;
/** How long closing sockets get to finish their close handshake when the listener closes. */
const CLOSE_GRACE_MS = 1000;

export class WebSocketService implements WsHost {
  readonly sessions = new Set<WebSocketSession>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: MAX_CLIENT_FRAME,
    handleProtocols: (offered: Set<string>) => [...offered].find((p) => SUBPROTOCOLS.has(p)) ?? false,
  });
  private readonly cleanups = new Map<WebSocketSession, () => void>();
  private servers = new Map<string, FrameServer>();
  private byId: string[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private unreload: (() => void) | undefined;

  constructor(
    private readonly ctx: HttpContext,
    private readonly feed: SseFeed,
    private readonly cors: CorsPolicy,
    readonly json: FormatModule,
    /** Interval of the keep-alive pings (ms). */
    private readonly pingMs: number,
  ) {
    this.indexServers();
  }

  get hub(): HttpContext['hub'] {
    return this.ctx.hub;
  }

  get log(): HttpContext['log'] {
    return this.ctx.log;
  }

  start(): void {
    this.unreload = this.ctx.hub.onReload(() => this.reload());
    this.pingTimer = setInterval(() => this.keepAlive(), this.pingMs);
    this.pingTimer.unref();
  }

  /** Closes every socket (1001), cutting those that have not finished closing after a grace period. */
  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    this.unreload?.();
    for (const s of [...this.sessions]) s.close(CLOSE.goingAway, 'amiplex is shutting down');
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.sessions]) s.terminate();
    this.wss.close();
  }

  /** An upgrade request for `/ws` on listener `listener` (its address): refused with a status, or opened. */
  async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, query: string, listener: string): Promise<void> {
    // A peer that goes away while its credentials are checked must not take amiplex down.
    socket.on('error', (err) => this.ctx.log.debug({ http: remoteOf(req), err: err.message }, 'websocket connection error'));
    const refuse = (status: number, message: string, headers: HeaderMap = {}) => {
      this.ctx.log.info({ http: remoteOf(req), method: req.method, path: '/ws', status, reason: message }, 'http request refused');
      sendError(responseOnSocket(req, socket), status, this.json, undefined, message, headers);
    };
    const origin = req.headers.origin;
    if (this.ctx.closing) return refuse(503, 'amiplex is shutting down');
    if (!this.cors.allowsCredentialed(origin, req.headers.host)) return refuse(403, `Origin ${origin ?? ''} is not allowed to open a WebSocket (the listener's own origin, or one listed in cors_origins)`);
    if (Buffer.byteLength(req.url ?? '', 'latin1') > this.ctx.settings.maxUrl) return refuse(414, `Request URL over http_max_url (${this.ctx.settings.maxUrl} bytes)`);
    if (req.method !== 'GET') return refuse(405, `Method ${req.method ?? ''} is not allowed here (GET)`, { Allow: 'GET' });
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return refuse(400, `GET /ws upgrades to a WebSocket only (Upgrade: websocket), not ${(req.headers.upgrade ?? '').slice(0, 40)}`);
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
    if (offered.length > 0 && !offered.some((p) => SUBPROTOCOLS.has(p))) {
      return refuse(400, `Unknown subprotocol ${offered.join(', ').slice(0, 80)} (known: ${[...SUBPROTOCOLS.keys()].join(', ')})`);
    }
    const asked = await subscriptionOf(this.ctx, req, query, '/ws');
    if (!asked.ok) return refuseSubscription(this.ctx, req, responseOnSocket(req, socket), this.json, asked, {});
    if (socket.destroyed) return;
    // ws answers a malformed handshake (key, version) with 400 itself.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, req, socket as net.Socket, asked, listener));
  }

  private open(ws: WebSocket, req: http.IncomingMessage, socket: net.Socket, asked: Subscription, listener: string): void {
    const envelope = SUBPROTOCOLS.get(ws.protocol) ?? 'amiplex';
    const filter = { events: asked.events, servers: asked.servers, allServers: asked.allServers };
    const session = new WebSocketSession(ws, socket, this, asked.user, filter, envelope, remoteOf(req), listener);
    const untrack = this.ctx.hub.trackOutput(session);
    const login = asked.session;
    const ended = () => session.close(CLOSE.policy, 'the login session ended');
    if (login) {
      login.active++;
      login.onEnd.add(ended);
    }
    this.cleanups.set(session, () => {
      untrack();
      if (login) {
        login.active--;
        login.lastUsed = Date.now();
        login.onEnd.delete(ended);
      }
    });
    this.sessions.add(session);
    this.ctx.hub.counters.webSocketsOpened++;
    this.ctx.log.info({ http: session.remote, websocket: session.id, user: asked.user.name, envelope, since: asked.lastEventId }, 'websocket opened');
    this.feed.openReader(session, asked.lastEventId);
  }

  // ---- WsHost --------------------------------------------------------------------------------

  frameServer(name: string | undefined): FrameServer | undefined {
    if (name === undefined) return undefined;
    return this.servers.get(name) ?? { name, id: 0, tls: false };
  }

  serverById(id: number): string | undefined {
    return this.byId[id - 1];
  }

  closed(session: WebSocketSession): void {
    if (!this.sessions.delete(session)) return;
    this.feed.closeReader(session);
    this.cleanups.get(session)?.();
    this.cleanups.delete(session);
  }

  // ---- upkeep --------------------------------------------------------------------------------

  private indexServers(): void {
    const servers = this.ctx.hub.config.servers;
    this.byId = servers.map((s) => s.name);
    this.servers = new Map(servers.map((s, i) => [s.name, { name: s.name, id: i + 1, tls: s.tls }]));
  }

  private reload(): void {
    this.indexServers();
    for (const session of [...this.sessions]) {
      const user = this.ctx.hub.findUser(session.user.name);
      if (user === undefined) session.close(CLOSE.policy, 'its user was removed from proxy.conf');
      else if (!this.ctx.hub.auth.addressAllowed(user, session.address)) session.close(CLOSE.policy, "its address is no longer allowed by its user's permit/deny");
      else session.updateUser(user);
    }
  }

  private keepAlive(): void {
    for (const session of this.sessions) {
      if (session.ping()) continue;
      this.ctx.log.info({ http: session.remote, websocket: session.id }, 'websocket cut: no pong to the last ping');
      session.terminate();
    }
  }
}
