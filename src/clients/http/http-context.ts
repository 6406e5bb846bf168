/**
 * What the parts of the HTTP listener share: the hub, the settings, the login sessions, and
 * who a request is (HTTP Basic, or the `mansession_id` cookie of an `Action=Login` session).
 */
import type http from 'node:http';
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
 * Who sends the request: HTTP Basic when the request has an Authorization header, else the
 * session of its `mansession_id` cookie. Answered at once unless a secret_hash must be checked
 * by scrypt (the first request with that secret): a promise then.
 */
export function identify(ctx: HttpContext, req: http.IncomingMessage, now: number): Identity | Promise<Identity> {
  const basic = parseBasic(req.headers.authorization);
  if (basic !== undefined) {
    if (!basic.ok) {
      // Unreadable credentials are a failed login too: they count towards the lockout.
      const result = ctx.hub.auth.malformed(req.socket.remoteAddress, basic.message);
      return { ok: false, message: basic.message, failed: true, reason: result.ok ? basic.message : result.reason, lockedOut: result.ok ? undefined : result.lockedOut };
    }
    const result = ctx.hub.auth.check({ username: basic.username, secret: basic.secret, address: req.socket.remoteAddress });
    return result instanceof Promise ? result.then((r) => basicIdentity(r, basic.username)) : basicIdentity(result, basic.username);
  }
  const id = sessionCookie(req.headers.cookie);
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

function basicIdentity(result: LoginResult, username: string): Identity {
  if (!result.ok) return { ok: false, message: 'Authentication failed', failed: true, username, reason: result.reason, lockedOut: result.lockedOut };
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
