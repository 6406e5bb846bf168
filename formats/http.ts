/**
 * The http input format: an HTTP request (path, query string, form body, Accept header) as the
 * AMI action it stands for, and the output format its answer is written in. Pure: strings and
 * bytes in, a message or a refusal out; the HTTP listener (src/clients/http/http-service.ts) does the I/O.
 *
 *     GET /rawman?Action=Originate&Channel=PJSIP/201&Variable=A=1&Variable=B=2
 *
 * becomes `Action: Originate`, `Channel: PJSIP/201`, `Variable: A=1`, `Variable: B=2`:
 * - every parameter is one header, in the order of the request (query string first, then the
 *   form body of a POST); repeated parameters are repeated headers; names are kept as given;
 * - names and values are percent-decoded (`+` is a space) to bytes, carried as byte strings
 *   (one character per byte, see src/ami/message.ts): any bytes, UTF-8 or not, reach the PBX as sent;
 * - `format` and `timeout`, written exactly so (lower case), are amiplex's own and not forwarded:
 *   AMI's own `Timeout` header (Originate, WaitEvent) is written with a capital, as AMI writes it;
 * - a name that is empty or holds anything but visible ASCII other than `:`, a value holding CR,
 *   LF or NUL (they would split the action on the wire), more than 128 headers or a header line
 *   over 1024 bytes (Asterisk's limits) are refused, never truncated.
 *
 * Output format: by path as Asterisk's HTTP manager — `/rawman` standard, `/mxml` xml, `/json`
 * json, `/csv` csv — or, on `/action` (and `/asterisk/`), `format=` then the Accept header, else
 * standard. Every path may also be written under `/asterisk/` (Asterisk's default prefix), so
 * AJAM code pointed at amiplex keeps its URLs.
 *
 * `/` itself is the status page (src/clients/http/status-page.ts), with its data at `/status.json`
 * and its browser files at `/static/NAME`.
 */
import { CLIENT_LIMITS, DECODE_ERROR_TEXT } from '../src/ami/decoder.js';
import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { headerProblem, printable } from './input-lines.js';

/** What an HTTP path serves. */
export type HttpRoute =
  /**
   * one action; `format` fixed by the path, or chosen by the request when absent (`format=`,
   * then `fallback` — a listener's own format — then the Accept header)
   */
  | { readonly kind: 'action'; readonly format?: string; readonly fallback?: string }
  /** Server-Sent Events */
  | { readonly kind: 'events' }
  /** actions and events over one WebSocket (`/ws`, src/clients/websocket/) */
  | { readonly kind: 'websocket' }
  /** the status page (`/`) */
  | { readonly kind: 'page' }
  /** the status page's data (`/status.json`) */
  | { readonly kind: 'status' }
  /** a file of the status page (`/static/NAME`): NAME is a plain file name, never a path */
  | { readonly kind: 'asset'; readonly name: string };

/** A format as the http input sees it: its name and the MIME type of its documents. */
export interface FormatInfo {
  readonly name: string;
  readonly contentType: string;
}

/** The most a request may ask to wait for its answer (timeout=, seconds). */
export const MAX_REQUEST_TIMEOUT_S = 300;
/** amiplex's own parameters, never forwarded (matched exactly, lower case). */
export const OWN_PARAMS = Object.freeze(['format', 'timeout'] as const);
const DEFAULT_FORMAT = 'standard';
const PREFIX = '/asterisk';
const ASSETS = '/static/';
/** A file name the status page may serve: letters, digits, `.`, `_`, `-`, starting with a letter or digit (no `..`, no `/`, no `%`). */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;

const ROUTES: ReadonlyMap<string, HttpRoute> = new Map<string, HttpRoute>([
  // reached as /asterisk/ only: / itself is the status page (see routeOf)
  ['/', { kind: 'action' }],
  ['/status.json', { kind: 'status' }],
  ['/action', { kind: 'action' }],
  ['/rawman', { kind: 'action', format: 'standard' }],
  ['/mxml', { kind: 'action', format: 'xml' }],
  ['/json', { kind: 'action', format: 'json' }],
  ['/csv', { kind: 'action', format: 'csv' }],
  ['/events', { kind: 'events' }],
  ['/ws', { kind: 'websocket' }],
  // the browser module for WebSocket apps, at a short address of its own
  ['/amiplex.js', { kind: 'asset', name: 'amiplex.js' }],
]);

/** MIME types some clients ask for that mean a format registered under another type. */
const TYPE_ALIASES: ReadonlyMap<string, string> = new Map([['application/xml', 'text/xml']]);

/**
 * What a path serves; undefined for an unknown path (404). `/` is the status page, while
 * `/asterisk/` stays an action path as it always was. A `/static/` name that is not a plain file
 * name (`..`, `/`, an escape) is an unknown path: nothing outside the page's folder is reachable.
 */
export function routeOf(path: string): HttpRoute | undefined {
  if (path === '/') return { kind: 'page' };
  let p = path;
  if (p === PREFIX || p.startsWith(PREFIX + '/')) p = p.slice(PREFIX.length) || '/';
  if (p.startsWith(ASSETS)) {
    const name = p.slice(ASSETS.length);
    return ASSET_NAME.test(name) ? { kind: 'asset', name } : undefined;
  }
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return ROUTES.get(p);
}

/** `application/x-www-form-urlencoded` text (a byte string) as its name/value pairs, decoded to byte strings. */
export function parseForm(text: string): AmiHeader[] {
  const pairs: AmiHeader[] = [];
  if (text === '') return pairs;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [decodeComponent(part), ''] : [decodeComponent(part.slice(0, eq)), decodeComponent(part.slice(eq + 1))]);
  }
  return pairs;
}

/** Percent-decoding to bytes (a byte string), `+` as a space; a `%` not followed by two hex digits stays as it is. */
export function decodeComponent(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      out += ' ';
    } else if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out += String.fromCharCode(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * The format an Accept header asks for: the known MIME type with the highest q (ties: the one
 * listed first); a wildcard (`*∕*`, `text/*`) or nothing known means the default.
 */
export function formatFromAccept(accept: string | undefined, formats: readonly FormatInfo[]): string {
  if (accept === undefined || accept.trim() === '') return DEFAULT_FORMAT;
  const byType = new Map<string, string>();
  // The first format registered for a MIME type answers for it (xml, not astmanproxy-xml, for text/xml).
  for (const f of formats) if (!byType.has(baseType(f.contentType))) byType.set(baseType(f.contentType), f.name);
  let best: { name: string; q: number } | undefined;
  for (const entry of accept.split(',')) {
    const [typePart, ...params] = entry.split(';');
    const type = baseType(typePart ?? '');
    if (type === '') continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number.parseFloat(m[1]!);
    }
    if (!(q > 0)) continue;
    const name = type === '*/*' || type === 'text/*' ? DEFAULT_FORMAT : byType.get(TYPE_ALIASES.get(type) ?? type);
    if (name === undefined) continue;
    if (best === undefined || q > best.q) best = { name, q };
  }
  return best?.name ?? DEFAULT_FORMAT;
}

function baseType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export interface HttpInput {
  /** The path without the query string. */
  readonly path: string;
  /** The query string without its `?` (a byte string, as the request line carried it). */
  readonly query: string;
  /** A form-encoded POST body (as bytes or a byte string), else undefined. */
  readonly body?: Buffer | string;
  readonly accept?: string;
  /** What the path serves, when the listener decided it (an `Action` at `/` or at any path); else routeOf(path). */
  readonly route?: HttpRoute;
}

/**
 * Whether a request's parameters name an action (`Action`, or astmanproxy's `ProxyAction`, any
 * case): astmanproxy ran one at any path, `/` included, and so does amiplex where the path
 * serves nothing else.
 */
export function hasActionParam(pairs: readonly AmiHeader[]): boolean {
  return pairs.some(([n]) => {
    const lower = n.toLowerCase();
    return lower === 'action' || lower === 'proxyaction';
  });
}

/** A request refused before it reaches a PBX, and why (400 or 404). */
export interface HttpRefusal {
  readonly ok: false;
  readonly status: 400 | 404;
  readonly message: string;
  /** The format the refusal is written in (as good a guess as the request allows). */
  readonly format: string;
  readonly actionId?: string;
}

export interface HttpAction {
  readonly ok: true;
  /** The action, amiplex's own parameters removed. */
  readonly action: AmiMessage;
  /** Its `Action` value (a byte string). */
  readonly name: string;
  readonly actionId?: string;
  readonly format: string;
  /** `timeout=` in seconds (capped at MAX_REQUEST_TIMEOUT_S), when given. */
  readonly timeout?: number;
}

/**
 * The output format a request asks for, from its path, `format=` and Accept header; a refusal
 * when `format=` names an unknown format or contradicts a path that fixes one.
 */
export function chooseFormat(
  route: HttpRoute | undefined,
  formatParam: string | undefined,
  accept: string | undefined,
  formats: readonly FormatInfo[],
): { ok: true; format: string } | { ok: false; message: string; format: string } {
  const fixed = route?.kind === 'action' ? route.format : undefined;
  const fallback = fixed ?? (route?.kind === 'action' ? route.fallback : undefined) ?? formatFromAccept(accept, formats);
  if (formatParam === undefined) return { ok: true, format: fallback };
  const named = formats.find((f) => f.name.toLowerCase() === formatParam.toLowerCase());
  if (!named) {
    return { ok: false, message: `Unknown format: ${formatParam === '' ? '(none)' : formatParam}; known: ${formats.map((f) => f.name).join(', ')}`, format: fallback };
  }
  if (fixed !== undefined && named.name !== fixed) {
    return { ok: false, message: `format=${formatParam} contradicts the path, which answers in ${fixed}`, format: fixed };
  }
  return { ok: true, format: named.name };
}

/** The first value of a pair named exactly `name`, and whether it was given more than once. */
function ownParam(pairs: readonly AmiHeader[], name: string): { value?: string; twice: boolean } {
  let value: string | undefined;
  let twice = false;
  for (const [n, v] of pairs) {
    if (n !== name) continue;
    if (value !== undefined) twice = true;
    else value = v;
  }
  return value === undefined ? { twice } : { value, twice };
}

/** `timeout=` as seconds: a positive number, capped at MAX_REQUEST_TIMEOUT_S. */
export function parseTimeout(value: string): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  const s = Number.parseFloat(value);
  if (!(s > 0)) return undefined;
  return Math.min(s, MAX_REQUEST_TIMEOUT_S);
}

const BAD_VALUE = /[\r\n\0]/;

/** The action an HTTP request stands for (GET query, plus the form body of a POST). */
export function parseActionRequest(input: HttpInput, formats: readonly FormatInfo[]): HttpAction | HttpRefusal {
  const route = input.route ?? routeOf(input.path);
  const body = input.body === undefined ? '' : typeof input.body === 'string' ? input.body : input.body.toString('latin1');
  const pairs = parseForm(input.query);
  if (body !== '') pairs.push(...parseForm(body));
  const formatParam = ownParam(pairs, 'format');
  const chosen = chooseFormat(route, formatParam.value, input.accept, formats);
  const format = chosen.format;
  let actionId: string | undefined;
  for (const [n, v] of pairs) {
    if (n.toLowerCase() === 'actionid') {
      actionId = v;
      break;
    }
  }
  const refuse = (status: 400 | 404, message: string): HttpRefusal =>
    actionId === undefined || actionId === '' || BAD_VALUE.test(actionId)
      ? { ok: false, status, message, format }
      : { ok: false, status, message, format, actionId };
  if (route?.kind !== 'action') return refuse(404, `No such path: ${printable(input.path)}`);
  if (!chosen.ok) return refuse(400, chosen.message);
  if (formatParam.twice) return refuse(400, 'format= given more than once');
  const timeoutParam = ownParam(pairs, 'timeout');
  if (timeoutParam.twice) return refuse(400, 'timeout= given more than once');
  let timeout: number | undefined;
  if (timeoutParam.value !== undefined) {
    timeout = parseTimeout(timeoutParam.value);
    if (timeout === undefined) return refuse(400, `timeout= must be a number of seconds above 0 (at most ${MAX_REQUEST_TIMEOUT_S}), not '${timeoutParam.value}'`);
  }
  const headers: AmiHeader[] = [];
  let name: string | undefined;
  for (const pair of pairs) {
    const [n, v] = pair;
    if (n === 'format' || n === 'timeout') continue;
    const problem = headerProblem(pair, 'parameter');
    if (problem !== undefined) return refuse(400, problem);
    if (n.length + 2 + v.length + 2 > CLIENT_LIMITS.maxLineBytes) return refuse(400, `${DECODE_ERROR_TEXT.LINE_TOO_LONG} (parameter ${n})`);
    if (name === undefined && n.toLowerCase() === 'action') name = v;
    headers.push(pair);
  }
  if (headers.length > CLIENT_LIMITS.maxHeaders) return refuse(400, DECODE_ERROR_TEXT.TOO_MANY_HEADERS);
  // astmanproxy's ProxyAction (no Action header) is answered by amiplex: its name stays empty.
  const proxyAction = name === undefined && headers.some(([n, v]) => n.toLowerCase() === 'proxyaction' && v.trim() !== '');
  if (!proxyAction && (name === undefined || name.trim() === '')) return refuse(400, 'Missing action in request');
  const action: AmiMessage = { headers };
  const ok: HttpAction = { ok: true, action, name: name ?? '', format };
  return {
    ...ok,
    ...(actionId !== undefined && actionId !== '' ? { actionId } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
  };
}

/** What `GET /events` asks for. */
export interface EventsQuery {
  readonly ok: true;
  /** Event names wanted, lower case; empty: every event. */
  readonly events: ReadonlySet<string>;
  /** Servers wanted, as given; empty: every server the user may use. */
  readonly servers: readonly string[];
  /** `lastEventId=` (for clients that cannot send the Last-Event-ID header), or `since=` of `/ws`. */
  readonly lastEventId?: string;
}

/**
 * The query of `GET /events`: `event=` and `server=` (each repeatable), `lastEventId=`; anything
 * else is refused. `GET /ws` reads the same query, with `since=` in place of `lastEventId=`.
 */
export function parseEventsQuery(query: string, path: '/events' | '/ws' = '/events'): EventsQuery | { ok: false; message: string } {
  const events = new Set<string>();
  const servers: string[] = [];
  const resume = path === '/ws' ? 'since' : 'lasteventid';
  let lastEventId: string | undefined;
  for (const [n, v] of parseForm(query)) {
    switch (n.toLowerCase()) {
      case 'event':
        for (const e of v.split(',')) if (e.trim() !== '') events.add(e.trim().toLowerCase());
        break;
      case 'server':
        for (const s of v.split(',')) if (s.trim() !== '') servers.push(s.trim());
        break;
      case resume:
        lastEventId = v;
        break;
      default:
        return { ok: false, message: `Unknown parameter for ${path}: ${printable(n)} (known: event, server, ${path === '/ws' ? 'since' : 'lastEventId'})` };
    }
  }
  return lastEventId === undefined ? { ok: true, events, servers } : { ok: true, events, servers, lastEventId };
}


/** The http input format, as the input registry lists it (src/inputs.ts): a listener with `input = http` is an HTTP listener. */
export const httpInput = Object.freeze({
  name: 'http',
  kind: 'http' as const,
  routeOf,
  parseActionRequest,
  parseEventsQuery,
  chooseFormat,
});
