/**
 * CORS for the HTTP listener, from `cors_origins` (a list of origins, or `*`). Pure: the request's
 * Origin in, the decision and the response headers out.
 *
 * - An origin in the list is echoed in `Access-Control-Allow-Origin`, with credentials allowed
 *   (cookies, HTTP Basic) and `Vary: Origin`.
 * - With `*`, any other origin gets `Access-Control-Allow-Origin: *` without credentials: a
 *   browser lets a page read only answers to requests made without cookies or Basic credentials.
 *   Browser apps that log in need their origin listed explicitly.
 * - An origin that is neither, and is not the listener's own: refused (403, no CORS headers),
 *   preflight or not — a browser sends Origin on every cross-origin POST and fetch, so a page on
 *   another site can never run an action with the user's cookie or cached Basic credentials.
 * - No Origin header (curl, a server-side client, a same-origin GET): not a CORS request.
 */

export const ALLOWED_METHODS = 'GET, POST, OPTIONS';
export const ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID';
const PREFLIGHT_MAX_AGE_S = 600;

export type CorsDecision =
  /** No Origin, or the listener's own: no CORS headers needed. */
  | { readonly kind: 'none' }
  | { readonly kind: 'allowed'; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'refused'; readonly origin: string };

export class CorsPolicy {
  private readonly explicit: ReadonlySet<string>;
  private readonly any: boolean;

  constructor(origins: readonly string[] | undefined) {
    const list = origins ?? [];
    this.any = list.includes('*');
    this.explicit = new Set(list.filter((o) => o !== '*').map(normalize));
  }

  /** The decision for a request with this Origin, sent to this Host. */
  check(origin: string | undefined, host: string | undefined): CorsDecision {
    if (origin === undefined) return { kind: 'none' };
    const o = normalize(origin);
    if (this.explicit.has(o)) {
      return { kind: 'allowed', headers: { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' } };
    }
    if (host !== undefined && (o === `http://${host.toLowerCase()}` || o === `https://${host.toLowerCase()}`)) return { kind: 'none' };
    if (this.any) return { kind: 'allowed', headers: { 'Access-Control-Allow-Origin': '*' } };
    return { kind: 'refused', origin };
  }

  /**
   * Whether a request that carries the user's credentials by itself — a WebSocket upgrade, which
   * sends the login cookie whatever the page — may come from this Origin: none (not a browser),
   * the listener's own, or one listed explicitly. `*` admits none: it is for requests without
   * credentials, and a page elsewhere must never act with the user's cookie (cross-site
   * WebSocket hijacking).
   */
  allowsCredentialed(origin: string | undefined, host: string | undefined): boolean {
    const decision = this.check(origin, host);
    return decision.kind === 'none' || (decision.kind === 'allowed' && decision.headers['Access-Control-Allow-Credentials'] === 'true');
  }

  /** The extra headers of a preflight answer (204) for an allowed origin. */
  static preflightHeaders(): Record<string, string> {
    return {
      'Access-Control-Allow-Methods': ALLOWED_METHODS,
      'Access-Control-Allow-Headers': ALLOWED_HEADERS,
      'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_S),
    };
  }
}

/** Origins compare case-insensitively (scheme and host), without a trailing slash. */
function normalize(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
