/**
 * What the parts of the HTTP listener share: the hub, the settings, the login sessions, and
 * who a request is (HTTP Basic, or the `mansession_id` cookie of an `Action=Login` session).
 */
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isLoopbackHost } from '../../access/acl.js';
import type { UserConfig } from '../../config/index.js';
import type { Hub } from '../../hub.js';
import type { Logger } from '../../log.js';
import { parseBasic, sessionCookie } from './http-auth.js';
import type { HttpSession, HttpSessionStore } from './http-sessions.js';
import { socketRemote } from '../shared/socket-remote.js';
import { remainingFailDelay, type LoginResult } from '../../access/authenticator.js';
import type { LockScope } from '../../access/login-guard.js';

export interface HttpSettings {
  /** How long a request waits for its answer unless it asks otherwise (ms). */
  readonly timeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly maxBody: number;
  readonly maxUrl: number;
  readonly authFailDelayMs: number;
  readonly clientBuffer: number;
  readonly clientBufferMax: number;
  readonly slowClientTimeoutMs: number;
  readonly sseReplay: number;
  /** Interval of the keep-alive comments on event streams (ms). */
  readonly sseKeepAliveMs: number;
}

export interface HttpContext {
  readonly hub: Hub;
  readonly log: Logger;
  readonly settings: HttpSettings;
  readonly sessions: HttpSessionStore;
  /** Whether the listener is shutting down. */
  readonly closing: boolean;
  /** A [listener NAME] with input = http: its anonymous_user and ProxyKey settings. */
  readonly listener?: {
    readonly anonymousUser?: string;
    readonly proxyKey?: { readonly user: string; readonly plainAllowed: boolean };
  };
}

export type Identity =
  | { readonly ok: true; readonly user: UserConfig; readonly session?: HttpSession }
  | {
    readonly ok: false;
    readonly message: string;
    /** wrong credentials (answered after auth_fail_delay), not merely missing or stale */
    readonly failed: boolean;
    readonly username?: string;
    /** Why, for the log only. */
    readonly reason?: string;
    readonly lockedOut?: LockScope;
  };

/**
 * Who sends the request: HTTP Basic when the request has an Authorization header, else its
 * `ProxyKey` (on a listener with proxy_key_user), else the session of its `mansession_id`
 * cookie, else the listener's anonymous_user. Answered at once unless a secret_hash must be
 * checked by scrypt or bcrypt (the first request with that secret): a promise then.
 */
export function identify(ctx: HttpContext, req: http.IncomingMessage, now: number, proxyKey?: string): Identity | Promise<Identity> {
  const basic = parseBasic(req.headers.authorization);
  const pk = ctx.listener?.proxyKey;
  if (basic === undefined && proxyKey !== undefined && pk !== undefined) {
    const secure = (req.socket as TLSSocket).encrypted === true;
    if (!secure && !pk.plainAllowed && !isLoopbackHost(req.socket.remoteAddress ?? '')) {
      return { ok: false, message: 'ProxyKey is not accepted over plain HTTP from this address: use HTTPS, or log in', failed: false };
    }
    const result = ctx.hub.auth.check({ username: pk.user, secret: proxyKey, address: req.socket.remoteAddress });
    return result instanceof Promise ? result.then((r) => loginIdentity(r, pk.user, 'ProxyKey: ')) : loginIdentity(result, pk.user, 'ProxyKey: ');
  }
  if (basic !== undefined) {
    if (!basic.ok) {
      // Unreadable credentials are a failed login too: they count towards the lockout.
      const result = ctx.hub.auth.malformed(req.socket.remoteAddress, basic.message);
      return { ok: false, message: basic.message, failed: true, reason: result.ok ? basic.message : result.reason, lockedOut: result.ok ? undefined : result.lockedOut };
    }
    const result = ctx.hub.auth.check({ username: basic.username, secret: basic.secret, address: req.socket.remoteAddress });
    return result instanceof Promise ? result.then((r) => loginIdentity(r, basic.username)) : loginIdentity(result, basic.username);
  }
  const id = sessionCookie(req.headers.cookie);
  const anonymous = ctx.listener?.anonymousUser === undefined ? undefined : ctx.hub.findUser(ctx.listener.anonymousUser);
  if (id === undefined && anonymous !== undefined && ctx.hub.auth.addressAllowed(anonymous, req.socket.remoteAddress)) {
    return { ok: true, user: anonymous };
  }
  if (id === undefined) {
    return { ok: false, message: 'Permission denied: log in with HTTP Basic, or with Action=Login and its mansession_id cookie', failed: false };
  }
  const session = ctx.sessions.use(id, now);
  if (!session) return { ok: false, message: 'Permission denied: the login session has expired or is unknown; log in again', failed: false };
  // A reload may have tightened the user's permit/deny since the login: each use is checked.
  if (!ctx.hub.auth.addressAllowed(session.user, req.socket.remoteAddress)) {
    return { ok: false, message: "Permission denied: this address is not allowed by the user's permit/deny", failed: false };
  }
  return { ok: true, user: session.user, session };
}

/** The identity a login check gives (`why` prefixes the reason logged for a failure). */
function loginIdentity(result: LoginResult, username: string, why = ''): Identity {
  if (!result.ok) return { ok: false, message: 'Authentication failed', failed: true, username, reason: `${why}${result.reason}`, lockedOut: result.lockedOut };
  return { ok: true, user: result.user };
}

/**
 * Answers a request whose credentials were wrong auth_fail_delay after their check began (a
 * brake on guessing, the same moment whatever the check cost: see remainingFailDelay).
 */
export function answerFailedLogin(ctx: HttpContext, checkStartedMs: number, answer: () => void): void {
  if (ctx.settings.authFailDelayMs > 0) setTimeout(answer, remainingFailDelay(ctx.settings.authFailDelayMs, checkStartedMs));
  else answer();
}

/** `host:port` of the HTTP client, for logs. */
export function remoteOf(req: http.IncomingMessage): string {
  return socketRemote(req.socket);
}
