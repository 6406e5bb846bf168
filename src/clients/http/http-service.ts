/**
 * The HTTP listeners (`http =` in [general], one node:http server per address, all sharing one
 * set of login sessions and one event feed): actions by GET or form-encoded POST, Server-Sent
 * Events at `/events`, WebSockets at `/ws` (src/clients/websocket/), and the status page at `/`
 * (see status-page.ts).
 *
 * The checks of a request, in order, each refused with its status and an AMI-style error body
 * in the request's format: shutting down 503 · Origin not allowed 403 · URL over http_max_url
 * 414 · unknown path 404 · method 405 (OPTIONS is a CORS preflight: 204) · POST that is not a
 * form 415 · body over http_max_body 413 · malformed request 400 · credentials 401 — then the
 * action (see http-actions.ts) or the event stream. Each refusal is logged once; none touches
 * anything shared, so bad input never disturbs other clients.
 */
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { formatHostPort, type HostPort } from '../../config/index.js';
import type { FormatModule } from '../../formats.js';
import type { Hub } from '../../hub.js';
import type { Logger } from '../../log.js';
import { MetricsEndpoint, METRICS_PATH } from '../../metrics/metrics-endpoint.js';
import { ProxyMetrics } from '../../metrics/proxy-metrics.js';
import { chooseFormat, hasActionParam, parseActionRequest, parseForm, routeOf, type FormatInfo, type HttpRoute } from '../../../formats/http.js';
import { clientCertificateRefusal, tlsServerOptions, type ListenerTlsOptions } from '../../tls/server-tls.js';
import { closedByGate, ConnectionGate, PendingHandshakes } from '../shared/connection-gate.js';
import { answerClientError } from './http-client-error.js';
import { refuseSubscription, subscriptionOf } from './event-subscription.js';
import { HttpActions, pathOf } from './http-actions.js';
import { remoteOf, type HttpContext, type HttpSettings } from './http-context.js';
import { ALLOWED_METHODS, CorsPolicy } from './http-cors.js';
import { responseOnSocket, sendError, type HeaderMap } from './http-reply.js';
import { HttpSessionStore } from './http-sessions.js';
import { SseFeed } from '../sse/sse-feed.js';
import { SseStream } from '../sse/sse-stream.js';
import { StatusPage } from './status-page.js';
import { socketRemote } from '../shared/socket-remote.js';
import { WebSocketService } from '../websocket/ws-service.js';

export interface HttpServiceOptions {
  /** Interval of keep-alive comments on event streams (default 15 s). */
  readonly sseKeepAliveMs?: number;
  /** Interval of WebSocket keep-alive pings (default 30 s). */
  readonly wsPingMs?: number;
  /** The proxy's metrics, served at /metrics (default: a registry of this service's own). */
  readonly metrics?: ProxyMetrics;
  /** HTTPS listeners (`https =` lines): the same service over TLS. */
  readonly https?: { readonly addresses: readonly HostPort[]; readonly tls: ListenerTlsOptions };
  /**
   * A `[listener NAME]` with `input = http`: its permit and deny (not [general]'s), and its
   * format for an action at `/`, `/action` or any path that chooses none.
   */
  readonly listener?: HttpListenerOptions;
}

/** What a `[listener NAME]` with `input = http` sets for its requests. */
export interface HttpListenerOptions {
  readonly name: string;
  /** The format of an action at `/`, `/action` or a path that chooses none. */
  readonly format: string;
  /** Requests without credentials act as this user (anonymous_user). */
  readonly anonymousUser?: string;
  /** A ProxyKey parameter logs the request in as this user, the key as its secret. */
  readonly proxyKey?: { readonly user: string; readonly plainAllowed: boolean };
}

/** The bound addresses of the HTTP and HTTPS listeners (real ports), each in file order. */
export interface HttpBound {
  readonly http: HostPort[];
  readonly https: HostPort[];
}

const DEFAULT_SSE_KEEPALIVE_MS = 15_000;
const DEFAULT_WS_PING_MS = 30_000;
const SWEEP_MS = 250;
const CLOSE_GRACE_MS = 2_000;
const FORM_TYPE = 'application/x-www-form-urlencoded';

export class HttpService implements HttpContext {
  /** Replaced by a reload (the limits shared with raw AMI clients); event streams keep the limits they started with. */
  settings: HttpSettings;
  readonly sessions: HttpSessionStore;
  readonly feed: SseFeed;
  readonly log: Logger;
  readonly statusPage: StatusPage;
  readonly websockets: WebSocketService;
  /** HTTP listeners, then HTTPS ones. */
  private readonly servers: (http.Server | https.Server)[];
  private readonly listenAddresses: readonly { readonly address: HostPort; readonly secure: boolean }[];
  private readonly pending = new PendingHandshakes();
  private readonly actions: HttpActions;
  private readonly cors: CorsPolicy;
  private readonly formatInfos: FormatInfo[];
  private readonly standard: FormatModule;
  private readonly metrics: MetricsEndpoint;
  /** What an Action at `/` or at a path that serves nothing else runs as: /action, in the listener's format if it has one. */
  private readonly anyPathRoute: HttpRoute;
  /** Its [listener NAME], when it is one. */
  readonly listenerName: string | undefined;
  /** Its [listener NAME]'s settings, when it is one. */
  readonly listener: HttpListenerOptions | undefined;
  private unobserve: (() => void) | undefined;
  private unreload: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private closingNow = false;
  private closed: Promise<void> | undefined;

  constructor(
    readonly hub: Hub,
    readonly addresses: readonly HostPort[],
    options: HttpServiceOptions = {},
  ) {
    const g = hub.config.general;
    this.log = hub.log.child({ component: 'http' });
    // The limits every client has (login delay, output buffers) are the hub's; these are HTTP's own.
    const { authFailDelayMs, clientBuffer, clientBufferMax, slowClientTimeoutMs } = hub.settings();
    this.settings = {
      timeoutMs: g.httpTimeout * 1000,
      sessionTimeoutMs: g.httpSessionTimeout * 1000,
      maxBody: g.httpMaxBody,
      maxUrl: g.httpMaxUrl,
      authFailDelayMs,
      clientBuffer,
      clientBufferMax,
      slowClientTimeoutMs,
      sseReplay: g.sseReplay,
      sseKeepAliveMs: options.sseKeepAliveMs ?? DEFAULT_SSE_KEEPALIVE_MS,
    };
    this.sessions = new HttpSessionStore(this.settings.sessionTimeoutMs);
    const json = hub.formats.get('json');
    const standard = hub.formats.get('standard');
    if (!json || !standard) throw new Error('the HTTP listener needs the json and standard formats registered');
    this.standard = standard;
    this.feed = new SseFeed(json, this.settings.sseReplay, hub.counters, hub.eventHistory);
    this.formatInfos = hub.formats.names().map((name) => hub.formats.get(name)!);
    this.cors = new CorsPolicy(g.corsOrigins);
    this.listenerName = options.listener?.name;
    this.listener = options.listener;
    this.anyPathRoute = options.listener ? { kind: 'action', fallback: options.listener.format } : { kind: 'action' };
    this.actions = new HttpActions(this);
    const metrics = options.metrics ?? new ProxyMetrics(hub);
    this.metrics = new MetricsEndpoint(metrics, g.metricsPermit, this.log);
    this.websockets = new WebSocketService(this, this.feed, this.cors, json, options.wsPingMs ?? DEFAULT_WS_PING_MS);
    metrics.watchWebSockets(() => this.websockets.sessions);
    this.statusPage = new StatusPage(this, this.feed, () => this.websockets.sessions);
    this.listenAddresses = [
      ...addresses.map((address) => ({ address, secure: false })),
      ...(options.https?.addresses ?? []).map((address) => ({ address, secure: true })),
    ];
    const maxHeaderSize = Math.max(16 * 1024, this.settings.maxUrl + 8 * 1024);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.dispatch(req, res);
    this.servers = this.listenAddresses.map(({ address, secure }) => {
      const server = secure ? this.httpsServer(options.https!.tls, maxHeaderSize, handler) : http.createServer({ maxHeaderSize }, handler);
      // [general] permit/deny on the bare connection, before TLS or HTTP reads a byte of it:
      // a refused address is closed without an answer, as Asterisk does.
      // Named in the log as /metrics names it: its address, with the bound port.
      const gate = new ConnectionGate(hub, { listener: options.listener?.name }, () => formatHostPort({ host: address.host, port: (server.address() as net.AddressInfo | null)?.port ?? address.port }));
      server.prependListener('connection', (socket: net.Socket) => {
        if (gate.admit(socket) && secure) this.pending.add(socket);
      });
      server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => answerClientError(err, socket, this.settings.maxUrl, this.log));
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, gate));
      this.metrics.watch(server, address);
      return server;
    });
  }

  /**
   * An HTTPS listener: the certificate of the TLS listeners, mutual TLS with tls_client_ca (a
   * client without an accepted certificate is closed before its request is read), and the
   * handshake within authtimeout. A refused client certificate is logged once at info, another
   * failed handshake once at debug.
   */
  private httpsServer(t: ListenerTlsOptions, maxHeaderSize: number, handler: http.RequestListener): https.Server {
    // A client certificate is refused below, not by node (see tlsServerOptions).
    const server = https.createServer({ maxHeaderSize, ...tlsServerOptions(t, this.hub.config.general.authTimeout * 1000) }, handler);
    // Before the HTTP parser is attached to the connection: a refused one never has a request read.
    server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
      this.pending.done(socket);
      const refused = clientCertificateRefusal(socket, t);
      if (refused === undefined) return;
      this.log.info({ http: socketRemote(socket), reason: refused }, 'https: TLS connection refused');
      socket.destroy();
    });
    server.on('tlsClientError', (err: Error, socket: net.Socket) => {
      // With a tlsClientError listener, node leaves the closing to it.
      socket.destroy();
      if (closedByGate(socket)) return;
      this.log.debug({ http: socketRemote(socket), reason: err.message }, 'https: TLS handshake failed');
    });
    return server;
  }

  get closing(): boolean {
    return this.closingNow;
  }

  /** Starts every listener and the event feed; resolves with the bound addresses (real ports). */
  async listen(): Promise<HttpBound> {
    const bound: HttpBound = { http: [], https: [] };
    for (const [i, server] of this.servers.entries()) {
      const { address, secure } = this.listenAddresses[i]!;
      (secure ? bound.https : bound.http).push(
        await new Promise<HostPort>((resolve, reject) => {
          const onError = (err: Error) => reject(new Error(`cannot listen for ${secure ? 'HTTPS' : 'HTTP'} on ${formatHostPort(address)}: ${err.message}`));
          server.once('error', onError);
          server.listen(address.port, address.host, () => {
            server.off('error', onError);
            server.on('error', (err) => this.log.error({ err: err.message, listen: address }, 'http listener error'));
            resolve({ host: address.host, port: (server.address() as net.AddressInfo).port });
          });
        }),
      );
    }
    this.unreload = this.hub.onReload(() => this.reloadUsers());
    this.unobserve = this.hub.observe((_server, _event, out, except) => {
      this.feed.publish(out.server, out, except);
      for (const session of this.sessions.values()) session.offer({ server: out.server, out });
    });
    this.statusPage.start();
    this.websockets.start();
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.sweepTimer.unref();
    this.keepAliveTimer = setInterval(() => {
      for (const stream of this.feed.streams) stream.keepAlive();
    }, this.settings.sseKeepAliveMs);
    this.keepAliveTimer.unref();
    return bound;
  }

  /**
   * Stops accepting; ends the event streams and the login sessions (a waiting WaitEvent is
   * answered); requests waiting for a PBX get their answer (the hub fails them when it stops);
   * connections still open after a grace period are closed. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closingNow = true;
      this.unobserve?.();
      this.unreload?.();
      this.statusPage.stop();
      clearInterval(this.sweepTimer);
      clearInterval(this.keepAliveTimer);
      for (const stream of [...this.feed.streams]) stream.end();
      const websocketsClosed = this.websockets.close();
      for (const session of [...this.sessions.values()]) this.sessions.end(session);
      const serversClosed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      this.pending.destroyAll();
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (this.inFlight > 0 && Date.now() < deadline) {
        for (const s of this.servers) s.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const s of this.servers) s.closeAllConnections();
      await Promise.all([serversClosed, websocketsClosed]);
    })();
    return this.closed;
  }

  // ---- one request -------------------------------------------------------------------------

  /**
   * A request that asks for an upgrade: a WebSocket on `/ws`; anywhere else, an upgrade amiplex
   * does not offer (h2c…), so it is answered as the plain request it also is, and closed.
   */
  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, gate: ConnectionGate): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if (routeOf(q < 0 ? url : url.slice(0, q))?.kind === 'websocket') {
      this.websockets.upgrade(req, socket, head, q < 0 ? '' : url.slice(q + 1), gate.label()).catch((err: unknown) => {
        this.log.error({ http: remoteOf(req), err: err instanceof Error ? err.stack : String(err) }, 'websocket upgrade failed');
        socket.destroy();
      });
      return;
    }
    const res = responseOnSocket(req, socket);
    // Its body, if any, would not be read: the connection is no longer HTTP's.
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
      return this.refuse(req, res, 400, this.standard, `Upgrade (${(req.headers.upgrade ?? '').slice(0, 40)}) is offered only to a WebSocket on /ws: send this request without it`, {});
    }
    this.dispatch(req, res);
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    res.on('error', (err) => this.log.debug({ err: err.message }, 'http response error'));
    this.guard(req, res, () => this.route(req, res));
  }

  /** Runs a step of a request; a bug there answers 500 (logged) instead of taking amiplex down. */
  private guard(req: http.IncomingMessage, res: http.ServerResponse, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.log.error({ http: remoteOf(req), path: pathOf(req), err: (err as Error).stack ?? String(err) }, 'http request failed');
      if (!res.headersSent) sendError(res, 500, this.standard, undefined, 'amiplex could not handle this request', {});
      else res.destroy();
    }
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const accept = req.headers.accept;
    // astmanproxy ran an action at any path, `/` included: so does a request with an Action there.
    const actionAnywhere = (routeOf(path) === undefined || path === '/') && hasActionParam(parseForm(query));
    const pathRoute = routeOf(path);
    // On a [listener] of its own, /action and /asterisk/ answer in its format unless the request chooses.
    const route = actionAnywhere || (pathRoute?.kind === 'action' && pathRoute.format === undefined) ? this.anyPathRoute : pathRoute;
    const tooLong = Buffer.byteLength(url, 'latin1') > this.settings.maxUrl;
    // The format of an early refusal, worked out only for one: from the path and Accept (the query, unless it is too long to read).
    const refuse = (status: number, message: string, headers: HeaderMap = {}) =>
      this.refuse(req, res, status, this.formatOf(route, tooLong ? undefined : query, accept), message, headers);

    if (this.closingNow) return refuse(503, 'amiplex is shutting down', { Connection: 'close' });
    if (path === METRICS_PATH) return this.metrics.serve(req, res);
    const cors = this.cors.check(req.headers.origin, req.headers.host);
    if (cors.kind === 'refused') return refuse(403, `Origin ${cors.origin} is not allowed (cors_origins)`);
    const headers: HeaderMap = cors.kind === 'allowed' ? { ...cors.headers } : {};
    if (tooLong) return refuse(414, `Request URL over http_max_url (${this.settings.maxUrl} bytes)`, headers);
    // A POST to such a path may carry its Action in its body: read it to know.
    if ((!route || route.kind === 'page') && req.method === 'POST') return this.readBody(req, res, path, query, headers, refuse, route);
    if (!route) return refuse(404, `No such path: ${path.slice(0, 200)} (actions: /rawman, /mxml, /json, /csv, /action, or any path with an Action; events: /events, /ws; status page: /)`, headers);
    if (route.kind === 'websocket') return refuse(426, 'GET /ws opens a WebSocket: ask for the upgrade (Connection: Upgrade, Upgrade: websocket)', { ...headers, Upgrade: 'websocket' });

    const page = route.kind === 'page' || route.kind === 'status' || route.kind === 'asset';
    const methods = route.kind === 'events' ? 'GET, OPTIONS' : page ? 'GET, HEAD, OPTIONS' : ALLOWED_METHODS;
    if (req.method === 'OPTIONS') {
      const preflight = cors.kind === 'allowed' && req.headers['access-control-request-method'] !== undefined;
      res.writeHead(204, { ...headers, ...(preflight ? CorsPolicy.preflightHeaders() : {}), Allow: methods });
      res.end();
      return;
    }
    if (!methods.split(', ').includes(req.method ?? '')) {
      return refuse(405, `Method ${req.method ?? ''} is not allowed here (${methods})`, { ...headers, Allow: methods });
    }
    if (page) return void this.statusPage.serve(req, res, route, headers).catch((err: unknown) => this.failed(res, err));
    if (route.kind === 'events') return void this.events(req, res, query, headers).catch((err: unknown) => this.failed(res, err));
    if (req.method === 'GET') return this.action(req, res, path, query, undefined, headers, route);
    this.readBody(req, res, path, query, headers, refuse, route);
  }

  /**
   * Reads a form POST's body, then runs its action. At `/` or a path that serves nothing else,
   * only a body with an Action makes it one: else the path answers as it would have (405 at
   * `/`, 404 elsewhere).
   */
  private readBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    query: string,
    headers: HeaderMap,
    refuse: (status: number, message: string, headers?: HeaderMap) => void,
    route: HttpRoute | undefined,
  ): void {
    const type = req.headers['content-type'];
    const baseType = type === undefined ? undefined : (type.split(';')[0] ?? '').trim().toLowerCase();
    if (baseType !== undefined && baseType !== FORM_TYPE) {
      return refuse(415, `A POST body must be ${FORM_TYPE}, not ${baseType}`, headers);
    }
    const maxBody = this.settings.maxBody;
    const tooLarge = () => refuse(413, `Request body over http_max_body (${maxBody} bytes)`, { ...headers, Connection: 'close' });
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > maxBody) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > maxBody) {
        over = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      const body = Buffer.concat(chunks);
      this.guard(req, res, () => {
        if (route?.kind === 'action') return this.action(req, res, path, query, body, headers, route);
        if (hasActionParam(parseForm(body.toString('latin1')))) return this.action(req, res, path, query, body, headers, this.anyPathRoute);
        if (route?.kind === 'page') return refuse(405, 'Method POST is not allowed here (GET, HEAD, OPTIONS)', { ...headers, Allow: 'GET, HEAD, OPTIONS' });
        refuse(404, `No such path: ${path.slice(0, 200)} (actions: /rawman, /mxml, /json, /csv, /action, or any path with an Action; events: /events; status page: /)`, headers);
      });
    });
    req.on('error', (err) => this.log.debug({ http: remoteOf(req), err: err.message }, 'http request error'));
  }

  private action(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string, body: Buffer | undefined, headers: HeaderMap, route: HttpRoute): void {
    const parsed = parseActionRequest({ path, query, route, ...(body ? { body } : {}), ...(req.headers.accept ? { accept: req.headers.accept } : {}) }, this.formatInfos);
    const format = this.hub.formats.get(parsed.format) ?? this.standard;
    if (!parsed.ok) {
      return this.refuse(req, res, parsed.status, format, parsed.message, headers, parsed.actionId);
    }
    this.actions.handle({ req, res, parsed, format, headers }).catch((err: unknown) => this.failed(res, err));
  }

  /**
   * After a reload: the limits shared with raw AMI clients take their new values; sessions and
   * event streams of removed users end, and so do streams whose address the user's permit/deny
   * now refuses (a login session is checked at each use); the others take their new settings.
   */
  private reloadUsers(): void {
    const { authFailDelayMs, clientBuffer, clientBufferMax, slowClientTimeoutMs } = this.hub.settings();
    this.settings = { ...this.settings, authFailDelayMs, clientBuffer, clientBufferMax, slowClientTimeoutMs };
    for (const session of [...this.sessions.values()]) {
      const user = this.hub.findUser(session.user.name);
      if (user === undefined) this.sessions.end(session);
      else session.updateUser(user);
    }
    for (const stream of [...this.feed.streams]) {
      const user = this.hub.findUser(stream.user.name);
      if (user === undefined || !this.hub.auth.addressAllowed(user, stream.address)) stream.end();
      else stream.updateUser(user);
    }
  }

  /** A bug while answering: logged, and answered 500 if nothing was sent yet; never a crash. */
  private failed(res: http.ServerResponse, err: unknown): void {
    this.log.error({ err: err instanceof Error ? err.stack : String(err) }, 'http request failed');
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('500 Internal error in amiplex\n');
    } else {
      res.destroy();
    }
  }

  /** `GET /events`: a Server-Sent Events stream of the events the user may see, filtered by the query. */
  private async events(req: http.IncomingMessage, res: http.ServerResponse, query: string, headers: HeaderMap): Promise<void> {
    const json = this.hub.formats.get('json') ?? this.standard;
    const lastHeader = req.headers['last-event-id'];
    const asked = await subscriptionOf(this, req, query, '/events', Array.isArray(lastHeader) ? lastHeader[0] : lastHeader);
    if (!asked.ok) return refuseSubscription(this, req, res, json, asked, headers);
    const { user, lastEventId } = asked;
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const session = asked.session;
    const stream = new SseStream(
      res,
      user,
      { events: asked.events, servers: asked.servers, allServers: asked.allServers },
      this.settings,
      {
        budget: this.hub.outputBudget,
        slow: (s, reason) => {
          this.hub.counters.slowClientsDropped++;
          this.log.warn({ http: remoteOf(req), user: user.name, stream: s.id, buffered: s.buffered, reason }, 'slow event stream disconnected');
        },
        closed: (s) => {
          this.feed.close(s);
          if (session) {
            session.active--;
            session.lastUsed = Date.now();
            session.onEnd.delete(endStream);
          }
          this.log.debug({ http: remoteOf(req), stream: s.id, events: s.eventsSent }, 'event stream closed');
        },
      },
      session,
    );
    const endStream = () => stream.end();
    if (session) {
      session.active++;
      session.onEnd.add(endStream);
    }
    this.log.debug({ http: remoteOf(req), user: user.name, stream: stream.id, lastEventId }, 'event stream opened');
    stream.write(Buffer.from(`: amiplex events, last id ${this.feed.lastId}\n\n`, 'latin1'));
    this.feed.open(stream, lastEventId);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private formatOf(route: HttpRoute | undefined, query: string | undefined, accept: string | undefined): FormatModule {
    if (route?.kind === 'events') return this.hub.formats.get('json') ?? this.standard;
    let param: string | undefined;
    for (const [n, v] of query === undefined ? [] : parseForm(query)) {
      if (n === 'format') {
        param = v;
        break;
      }
    }
    const chosen = chooseFormat(route, param, accept, this.formatInfos);
    return this.hub.formats.get(chosen.format) ?? this.standard;
  }

  private refuse(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    format: FormatModule,
    message: string,
    headers: HeaderMap,
    actionId?: string,
  ): void {
    this.log.info({ http: remoteOf(req), method: req.method, path: pathOf(req), status, reason: message }, 'http request refused');
    sendError(res, status, format, actionId, message, headers);
  }

  private sweep(now: number): void {
    for (const stream of this.feed.streams) stream.checkSlow(now);
    const gone = this.sessions.expire(now);
    for (const session of gone) this.log.info({ user: session.user.name }, 'http login session expired');
  }
}
