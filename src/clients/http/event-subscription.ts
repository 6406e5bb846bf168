/**
 * What an event stream (`GET /events`) and a WebSocket (`GET /ws`) ask for and who asks,
 * checked the same way for both before anything is opened: the query (`event=`, `server=`, and
 * where to resume: `Last-Event-ID` / `lastEventId=`, or `since=`), the credentials (HTTP Basic
 * or the `mansession_id` cookie, see identify), the servers asked for. A refusal is answered by
 * refuseSubscription: logged once, a failed login counted and answered after auth_fail_delay.
 */
import type http from 'node:http';
import type { UserConfig } from '../../config/index.js';
import type { FormatModule } from '../../formats.js';
import { parseEventsQuery } from '../../../formats/http.js';
import { BASIC_CHALLENGE } from './http-auth.js';
import { answerFailedLogin, identify, remoteOf, type HttpContext, type Identity } from './http-context.js';
import { sendError, type HeaderMap } from './http-reply.js';
import type { HttpSession } from './http-sessions.js';

export interface Subscription {
  readonly ok: true;
  readonly user: UserConfig;
  /** The login session of its cookie, when it came with one. */
  readonly session?: HttpSession;
  /** Event names wanted, lower case; empty: all. */
  readonly events: ReadonlySet<string>;
  /** Servers shown: those asked for, else every server of the user. */
  readonly servers: ReadonlySet<string>;
  /** No server was asked for: the user's servers, a reload included. */
  readonly allServers: boolean;
  /** The id to resume after, when asked. */
  readonly lastEventId?: number;
}

export interface SubscriptionRefusal {
  readonly ok: false;
  readonly status: number;
  readonly message: string;
  /** The credentials were checked and wrong: counted as a failed login, answered after auth_fail_delay. */
  readonly failed?: Extract<Identity, { ok: false }>;
  readonly startedAt: number;
}

/** The subscription a request asks for, or why it is refused. `resume`: the Last-Event-ID header of an event stream. */
export async function subscriptionOf(
  ctx: HttpContext,
  req: http.IncomingMessage,
  query: string,
  path: '/events' | '/ws',
  resume?: string,
): Promise<Subscription | SubscriptionRefusal> {
  const startedAt = Date.now();
  const refuse = (status: number, message: string): SubscriptionRefusal => ({ ok: false, status, message, startedAt });
  const asked = parseEventsQuery(query, path);
  if (!asked.ok) return refuse(400, asked.message);
  const lastText = resume ?? asked.lastEventId;
  let lastEventId: number | undefined;
  if (lastText !== undefined && lastText.trim() !== '') {
    const what = path === '/ws' ? 'since' : 'Last-Event-ID';
    if (!/^\d{1,15}$/.test(lastText.trim())) return refuse(400, `${what} must be an event id (digits), not '${lastText.slice(0, 40)}'`);
    lastEventId = Number(lastText.trim());
  }
  const who = await identify(ctx, req, startedAt);
  if (!who.ok) return { ...refuse(401, who.message), ...(who.failed ? { failed: who } : {}) };
  const user = who.user;
  for (const name of asked.servers) {
    if (!ctx.hub.servers.has(name)) return refuse(400, `Unknown server: ${name}`);
    if (!user.servers.includes(name)) return refuse(403, `Permission denied for server ${name}`);
  }
  return {
    ok: true,
    user,
    ...(who.session ? { session: who.session } : {}),
    events: asked.events,
    servers: new Set(asked.servers.length > 0 ? asked.servers : user.servers),
    allServers: asked.servers.length === 0,
    ...(lastEventId === undefined ? {} : { lastEventId }),
  };
}

/** Answers a refused subscription in `format` (401 with a Basic challenge; wrong credentials counted and delayed). */
export function refuseSubscription(ctx: HttpContext, req: http.IncomingMessage, res: http.ServerResponse, format: FormatModule, r: SubscriptionRefusal, headers: HeaderMap): void {
  const extra: HeaderMap = r.status === 401 ? { 'WWW-Authenticate': BASIC_CHALLENGE } : {};
  const answer = () => sendError(res, r.status, format, undefined, r.message, { ...headers, ...extra });
  if (r.failed) {
    ctx.hub.loginFailed({ remote: `http ${remoteOf(req)}` }, r.failed.username, r.failed.reason ?? r.failed.message, r.failed.lockedOut);
    answerFailedLogin(ctx, r.startedAt, answer);
    return;
  }
  ctx.log.info({ http: remoteOf(req), method: req.method, path: (req.url ?? '/').split('?')[0]!.slice(0, 200), status: r.status, reason: r.message }, 'http request refused');
  answer();
}
