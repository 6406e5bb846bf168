/**
 * The live status page of the HTTP listener, for operators:
 *
 *     GET /              the page (dist/web/status.html)
 *     GET /status.json   its data, refreshed by the page every 2 s (src/status/status-report.ts)
 *     GET /static/NAME   its script and style sheet (dist/web, built from src/web)
 *
 * The page and its data need a proxy user with `status = yes`, logged in with HTTP Basic or the
 * AJAM `mansession_id` cookie: without credentials 401 with a Basic challenge (a browser shows
 * its login dialog), with wrong ones 401 after auth_fail_delay, a user without `status = yes`
 * 403 with the reason. The static files hold no data and are served to anyone.
 *
 * Events per second come from a moving window of the hub's counters, sampled once a second by
 * a timer of this module: nothing is added to the path of an event.
 */
import { existsSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UserConfig } from '../../config/index.js';
import { RateWindow } from '../../status/rate-window.js';
import { rateCounters, statusReport, type StatusReport, type WebSocketView } from '../../status/status-report.js';
import { BASIC_CHALLENGE, setSessionCookie } from './http-auth.js';
import { answerFailedLogin, identify, remoteOf, type HttpContext } from './http-context.js';
import { sendError, type HeaderMap } from './http-reply.js';
import type { SseFeed } from '../sse/sse-feed.js';
import { sendAsset, WebAssets } from './web-assets.js';

export type StatusRoute = { readonly kind: 'page' } | { readonly kind: 'status' } | { readonly kind: 'asset'; readonly name: string };

const SAMPLE_MS = 1000;
const RATE_WINDOW_MS = 5000;
const PAGE_FILE = 'status.html';
/** What the page may load and do: its own files and requests only, never inside another site's frame. */
const PAGE_HEADERS: HeaderMap = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

export class StatusPage {
  readonly assets: WebAssets;
  readonly version: string;
  private readonly rates = new RateWindow(RATE_WINDOW_MS);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: HttpContext,
    private readonly feed: SseFeed,
    /** The open WebSockets (of the listener's WebSocket service). */
    private readonly webSockets: () => Iterable<WebSocketView>,
    root: string = packageRoot(),
  ) {
    this.assets = new WebAssets(path.join(root, 'dist', 'web'));
    this.version = packageVersion(root);
  }

  /** Starts sampling the counters for the rates. */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Answers a request for the page, its data or one of its files. */
  async serve(req: http.IncomingMessage, res: http.ServerResponse, route: StatusRoute, headers: HeaderMap): Promise<void> {
    if (route.kind === 'asset') {
      const asset = await this.assets.load(route.name);
      if (!asset) return this.refuse(req, res, route, 404, `No such file: /static/${route.name}`, headers);
      return sendAsset(req, res, asset, 'no-cache', headers);
    }
    const allowed = await this.allowed(req, res, route, headers);
    if (!allowed) return;
    const { user } = allowed;
    headers = allowed.headers;
    if (route.kind === 'status') {
      const body = Buffer.from(JSON.stringify(this.report(user)), 'utf8');
      res.writeHead(200, {
        ...headers,
        'Cache-Control': 'no-store',
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': String(body.length),
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const page = await this.assets.load(PAGE_FILE);
    if (!page) {
      this.ctx.log.error({ root: this.assets.root }, 'status page files missing: run npm run build');
      return this.refuse(req, res, route, 503, 'The status page is not built (npm run build writes dist/web)', headers);
    }
    sendAsset(req, res, page, 'private, no-cache', { ...headers, ...PAGE_HEADERS });
  }

  /** The data of /status.json for `user`, now. */
  report(user: UserConfig): StatusReport {
    const hub = this.ctx.hub;
    return statusReport({
      version: this.version,
      startedAt: hub.startedAt,
      now: Date.now(),
      user,
      servers: hub.servers.values(),
      clients: hub.clients,
      streams: this.feed.streams,
      webSockets: this.webSockets(),
      counters: hub.counters,
      httpSessions: this.ctx.sessions.size,
      rate: (key) => this.rates.rate(key),
      cluster: hub.clusterStatus(),
    });
  }

  private sample(): void {
    this.rates.sample(Date.now(), rateCounters(this.ctx.hub.servers.values(), this.ctx.hub.counters));
  }

  /**
   * The user when it may see the page, and the headers of the answer (a login session's cookie
   * refreshed, as every request of the session refreshes it); otherwise answers 401 or 403.
   */
  private async allowed(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: StatusRoute,
    headers: HeaderMap,
  ): Promise<{ user: UserConfig; headers: HeaderMap } | undefined> {
    const startedAt = Date.now();
    const who = await identify(this.ctx, req, startedAt);
    if (who.ok) {
      if (who.user.status) {
        if (!who.session) return { user: who.user, headers };
        return { user: who.user, headers: { ...headers, 'Set-Cookie': setSessionCookie(who.session.id, this.ctx.settings.sessionTimeoutMs / 1000) } };
      }
      this.refuse(req, res, route, 403, `User ${who.user.name} may not see the status page (it needs status = yes in its [user] section)`, headers);
      return undefined;
    }
    const answer = () => this.send(res, route, 401, who.message, { ...headers, 'WWW-Authenticate': BASIC_CHALLENGE });
    if (!who.failed) {
      this.ctx.log.debug({ http: remoteOf(req), path: route.kind, reason: who.message }, 'status page: not logged in');
      answer();
      return undefined;
    }
    this.ctx.hub.loginFailed({ remote: `http ${remoteOf(req)}` }, who.username, who.reason ?? who.message, who.lockedOut);
    answerFailedLogin(this.ctx, startedAt, answer);
    return undefined;
  }

  private refuse(req: http.IncomingMessage, res: http.ServerResponse, route: StatusRoute, status: number, message: string, headers: HeaderMap): void {
    this.ctx.log.info({ http: remoteOf(req), method: req.method, path: route.kind === 'asset' ? `/static/${route.name}` : route.kind, status, reason: message }, 'http request refused');
    this.send(res, route, status, message, headers);
  }

  /** A refusal: JSON (AMI-style, as every other error) for the data, plain text for what a browser shows. */
  private send(res: http.ServerResponse, route: StatusRoute, status: number, message: string, headers: HeaderMap): void {
    if (res.headersSent || res.destroyed) return;
    if (route.kind === 'status') {
      const json = this.ctx.hub.formats.get('json');
      if (json) return sendError(res, status, json, undefined, message, headers);
    }
    const body = Buffer.from(`${status} ${message}\n`, 'utf8');
    res.writeHead(status, {
      ...headers,
      'Cache-Control': 'no-store',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(body.length),
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  }
}

/** The folder holding amiplex's package.json, from this module's place (dist/src/clients or src/clients). */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return from;
  }
}

function packageVersion(root: string): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
