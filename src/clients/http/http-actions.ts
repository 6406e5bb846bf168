/**
 * One action over HTTP, once the request has been read and parsed: who sends it, then either
 * amiplex answers it (Login, Logoff, Events, WaitEvent, Challenge, Filter — the session actions,
 * per HTTP session as per TCP connection) or the hub forwards it and the request waits for the
 * complete answer, bounded by `http_timeout` or `timeout=`.
 *
 * Statuses: 200 for every answer that comes from the PBX (its own `Response: Error` included)
 * or from a Proxy* action; 400/403/502/503/504 when amiplex answered instead (see FAILURE_STATUS);
 * 401 for missing, wrong or expired credentials.
 */
import type { LockScope } from '../../access/login-guard.js';
import type http from 'node:http';
import { appendHeader, getHeader, hasHeader, sameText, type AmiMessage } from '../../ami/message.js';
import { eventMaskFromValue } from '../../ami/event-classes.js';
import { startAudit, writeAudit } from '../../audit.js';
import type { UserConfig } from '../../config/index.js';
import type { FormatModule } from '../../formats.js';
import type { HttpAction } from '../../../formats/http.js';
import { errorResponse, eventMessage, response, type Failure } from '../../router/action-router.js';
import { BASIC_CHALLENGE, setSessionCookie } from './http-auth.js';
import { HttpActionCall } from './http-action-call.js';
import { answerFailedLogin, identify, remoteOf, type HttpContext } from './http-context.js';
import { FAILURE_STATUS, sendDocument, sendError, type HeaderMap } from './http-reply.js';
import type { HttpSession, QueuedEvent } from './http-sessions.js';

/** The longest a WaitEvent waits (s), as the longest timeout= . */
const WAITEVENT_MAX_S = 300;

export interface ActionRequest {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly parsed: HttpAction;
  readonly format: FormatModule;
  /** Headers every answer to this request carries (CORS). */
  readonly headers: HeaderMap;
  /** Told the PBX a forwarded action went to (for the audit line). */
  onServer?: (server: string) => void;
}

export class HttpActions {
  constructor(private readonly ctx: HttpContext) {}

  /** Answers the request; never rejects (a failure is answered as an HTTP error). */
  async handle(r: ActionRequest): Promise<void> {
    const name = r.parsed.name.toLowerCase();
    // The audit line is written at info: nothing to gather for it when the log is quieter.
    const audit = this.ctx.hub.settings().audit && this.ctx.log.isLevelEnabled('info') ? startAudit(r.parsed.action) : undefined;
    if (audit !== undefined) {
      if (name === 'login') audit.user = getHeader(r.parsed.action, 'Username');
      r.res.once('close', () => {
        if (!r.res.writableFinished) audit.disconnected = true;
        audit.result ??= audit.disconnected ? 'none' : `HTTP ${r.res.statusCode}`;
        writeAudit(this.ctx.log, audit, remoteOf(r.req), 'http');
      });
    }
    if (name === 'login') return this.login(r);
    const now = Date.now();
    const found = identify(this.ctx, r.req, now, getHeader(r.parsed.action, 'ProxyKey'));
    // No turn of the microtask queue when the check was answered at once (it nearly always is).
    const who = found instanceof Promise ? await found : found;
    if (!who.ok) return this.unauthorized(r, now, who.message, who.failed, who.username, who.reason, who.lockedOut);
    if (audit !== undefined) audit.user = who.user.name;
    const session = who.session;
    const headers = session ? this.withSession(r, session) : r.headers;
    const a = { ...r, headers };
    switch (name) {
      case 'logoff':
        return this.logoff(a, session);
      case 'events':
        return session ? this.setEvents(a, session) : this.refuse(a, 400, 'Events needs a login session: log in with Action=Login (mansession_id cookie)');
      case 'waitevent':
        return session ? this.waitEvent(a, session) : this.refuse(a, 400, 'WaitEvent needs a login session: log in with Action=Login (mansession_id cookie)');
      case 'challenge':
        return this.refuse(a, 400, 'Challenge (MD5 login) is not available over HTTP: use HTTP Basic, or Action=Login with Secret');
      case 'filter':
        return session ? this.addFilter(a, session) : this.refuse(a, 400, 'Filter needs a login session: log in with Action=Login (mansession_id cookie)');
      default:
        if (audit !== undefined) a.onServer = (server) => (audit.server = server);
        return this.forward(a, who.user);
    }
  }

  /** A request of a session: the session stays alive while it runs; the cookie is refreshed. */
  private withSession(r: ActionRequest, session: HttpSession): HeaderMap {
    session.active++;
    r.res.once('close', () => {
      session.active--;
      session.lastUsed = Date.now();
    });
    return { ...r.headers, 'Set-Cookie': setSessionCookie(session.id, this.ctx.settings.sessionTimeoutMs / 1000) };
  }

  private async login(r: ActionRequest): Promise<void> {
    const { action, actionId } = r.parsed;
    if (sameText(getHeader(action, 'AuthType'), 'MD5')) {
      return this.refuse(r, 400, 'MD5 login is not available over HTTP: send Secret (over a trusted network or a TLS proxy)');
    }
    const username = getHeader(action, 'Username');
    const secret = getHeader(action, 'Secret');
    const startedAt = Date.now();
    const result = await this.ctx.hub.authenticate({ username, secret, address: r.req.socket.remoteAddress });
    if (!result.ok) return this.unauthorized(r, startedAt, 'Authentication failed', true, username, result.reason, result.lockedOut);
    const user = result.user;
    const session = this.ctx.sessions.create(user, Date.now());
    const events = getHeader(action, 'Events');
    if (events !== undefined) session.eventMask = eventMaskFromValue(events) ?? session.eventMask;
    this.ctx.log.info({ http: remoteOf(r.req), user: user.name }, 'http login session started');
    sendDocument(r.res, 200, r.format, [response('Success', actionId, ['Message', 'Authentication accepted'])], {
      ...r.headers,
      'Set-Cookie': setSessionCookie(session.id, this.ctx.settings.sessionTimeoutMs / 1000),
    });
  }

  /** 401: wrong credentials are answered auth_fail_delay after their check began (a brake on guessing), as a failed AMI login. */
  private unauthorized(r: ActionRequest, startedAt: number, message: string, failed: boolean, username: string | undefined, reason?: string, lockedOut?: LockScope): void {
    const remote = remoteOf(r.req);
    if (failed) {
      this.ctx.hub.loginFailed({ remote: `http ${remote}` }, username, reason ?? message, lockedOut);
    } else {
      this.ctx.log.info({ http: remote, path: pathOf(r.req), status: 401, reason: message }, 'http request refused');
    }
    const answer = () =>
      sendError(r.res, 401, r.format, r.parsed.actionId, message, { ...r.headers, 'WWW-Authenticate': BASIC_CHALLENGE });
    if (failed) answerFailedLogin(this.ctx, startedAt, answer);
    else answer();
  }

  private refuse(r: ActionRequest, status: number, message: string): void {
    this.ctx.log.info({ http: remoteOf(r.req), path: pathOf(r.req), status, reason: message }, 'http request refused');
    sendError(r.res, status, r.format, r.parsed.actionId, message, r.headers);
  }

  private logoff(r: ActionRequest, session: HttpSession | undefined): void {
    const headers = { ...r.headers };
    if (session) {
      this.ctx.sessions.end(session);
      headers['Set-Cookie'] = setSessionCookie(undefined, 0);
    }
    sendDocument(r.res, 200, r.format, [response('Goodbye', r.parsed.actionId, ['Message', 'Thanks for all the fish.'])], headers);
  }

  /** Asterisk's Filter action, for this login session's WaitEvent queue only. */
  private addFilter(r: ActionRequest, session: HttpSession): void {
    // Subject to the user's policy like any action (Asterisk's Filter needs the system class).
    if (!this.ctx.hub.policy({ user: session.user }, r.parsed.action).ok) {
      sendError(r.res, 403, r.format, r.parsed.actionId, 'Permission denied', r.headers);
      return;
    }
    const result = session.addFilter(r.parsed.action);
    if (result.reason !== undefined) this.ctx.log.info({ http: remoteOf(r.req), user: session.user.name, reason: result.reason }, 'Filter action refused');
    sendDocument(r.res, result.reason === undefined ? 200 : 400, r.format, [result.response], r.headers);
  }

  private setEvents(r: ActionRequest, session: HttpSession): void {
    const mask = eventMaskFromValue(getHeader(r.parsed.action, 'EventMask') ?? '');
    if (mask !== undefined) session.eventMask = mask;
    sendDocument(r.res, 200, r.format, [response('Success', r.parsed.actionId, ['Events', session.eventMask ? 'On' : 'Off'])], r.headers);
  }

  /**
   * The AJAM long poll: answered at once with the events queued since the last one, else with
   * the first events to come, or empty after `Timeout` seconds (default: the session timeout
   * less 10 s, as Asterisk; at most 300). Answer: the response, the events, `WaitEventComplete`.
   */
  private waitEvent(r: ActionRequest, session: HttpSession): void {
    const { actionId } = r.parsed;
    const given = getHeader(r.parsed.action, 'Timeout');
    let seconds: number;
    if (given !== undefined) {
      const t = Number(given.trim());
      if (given.trim() === '' || !Number.isFinite(t) || t < 0) return this.refuse(r, 400, `WaitEvent Timeout must be a number of seconds, not '${given}'`);
      seconds = Math.min(t, WAITEVENT_MAX_S);
    } else {
      seconds = r.parsed.timeout ?? Math.min(WAITEVENT_MAX_S, Math.max(1, this.ctx.settings.sessionTimeoutMs / 1000 - 10));
    }
    // A second poll of the same session answers the first (as on a TCP session).
    session.waiter?.();
    let timer: NodeJS.Timeout | undefined;
    let scheduled = false;
    const finish = () => {
      if (session.waiter === wake) session.waiter = undefined;
      clearTimeout(timer);
      const dropped = session.dropped;
      const events = session.take();
      const messages: AmiMessage[] = [response('Success', actionId, ['Message', 'Waiting for Event completed.'])];
      if (dropped > 0) {
        messages.push({ headers: [['Event', 'ProxyEventsLost'], ['Privilege', 'system,all'], ['Missed', String(dropped)]] });
      }
      for (const e of events) messages.push(eventFor(e, session.user));
      messages.push(eventMessage('WaitEventComplete', actionId));
      sendDocument(r.res, 200, r.format, messages, r.headers);
    };
    // Woken by an event: answer after this turn of the event loop, with every event it brought.
    const wake = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(finish);
    };
    if (session.queued > 0 || session.dropped > 0) return finish();
    session.waiter = wake;
    timer = setTimeout(finish, seconds * 1000);
    r.res.once('close', () => {
      clearTimeout(timer);
      if (session.waiter === wake) session.waiter = undefined;
    });
  }

  /** Forwards the action through the hub and answers once its last part has come. */
  private forward(r: ActionRequest, user: UserConfig): void {
    const { parsed, res } = r;
    const timeoutMs = parsed.timeout !== undefined ? parsed.timeout * 1000 : this.ctx.settings.timeoutMs;
    const answer = (parts: readonly AmiMessage[], failure: Failure | undefined) => {
      clearTimeout(timer);
      if (call.server !== undefined) r.onServer?.(call.server);
      if (failure !== undefined) this.ctx.log.debug({ http: remoteOf(r.req), user: user.name, failure, call: call.id }, 'http action answered by amiplex');
      sendDocument(res, failure === undefined ? 200 : FAILURE_STATUS[failure], r.format, parts, r.headers);
    };
    const call = new HttpActionCall(user, answer);
    const timer = setTimeout(() => {
      const parts = call.abandon();
      const seconds = Math.round(timeoutMs / 100) / 10;
      const message = `Timeout: no complete answer${call.server === undefined ? '' : ` from server ${call.server}`} within ${seconds} s`;
      this.ctx.log.info({ http: remoteOf(r.req), user: user.name, action: parsed.name, server: call.server, status: 504 }, 'http action timed out');
      sendDocument(res, 504, r.format, [...parts, errorResponse(parsed.actionId, message)], r.headers);
    }, timeoutMs);
    res.once('close', () => {
      if (call.isClosed) return;
      call.abandon();
      clearTimeout(timer);
      this.ctx.log.debug({ http: remoteOf(r.req), call: call.id }, 'http client went away before its answer');
    });
    this.ctx.hub.handleAction(call, parsed.action, call.slot);
    // Known at once when forwarded: the audit line names it even if the client leaves before the answer.
    if (call.server !== undefined) r.onServer?.(call.server);
  }
}

/** A queued event as its user receives it: with the Server header unless the user turned it off. */
export function eventFor(e: QueuedEvent, user: UserConfig): AmiMessage {
  const msg = e.out.message;
  if (!user.serverHeader || e.server === undefined || hasHeader(msg, 'Server')) return msg;
  return appendHeader(msg, 'Server', e.server);
}

/** The path of a request, without its query (which may hold a secret): for logs. */
export function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).slice(0, 200);
}
