/**
 * The proxy.conf schema: one table per section type. Each row gives a key's name in the
 * file, its value kind, default, whether it is required or repeatable, and a one-line doc.
 * Validation, defaults and documentation all read these tables; a new key is a new row
 * (and a new field in types.ts: the table type requires a row for every field).
 */
import { deepFreeze } from './freeze.js';
import type { ValueKind } from './values.js';
import {
  boolean, byteSize, duration, host, hostPort, integer, list, name, nonEmptyText, oneOf,
} from './values.js';
import { AUTH_TYPES, LOG_LEVELS } from './types.js';
import type { GeneralConfig, ListenerConfig, ServerConfig, UserConfig } from './types.js';
import { builtinFormats } from '../formats.js';

/** Every format amiplex ships: registering one in builtinFormats() is all it takes for proxy.conf to accept it. */
const FORMAT_NAMES = builtinFormats().names();

export interface KeySpec<T> {
  /** The key as written in proxy.conf: lower case, words joined by `_`. */
  readonly key: string;
  readonly kind: ValueKind<T>;
  readonly doc: string;
  /** The default as it would be written in proxy.conf; parsed by `kind` like any value. */
  readonly default?: string;
  /** What happens when the key is absent and there is no literal default. */
  readonly defaultDoc?: string;
  readonly required?: boolean;
  /** Given several times, each value adds one element. */
  readonly repeatable?: boolean;
  /** Never echo the value in messages or logs. */
  readonly sensitive?: boolean;
}

/** A row for a field of type V: repeatable rows give arrays, one element per occurrence. */
type FieldSpec<V> = [NonNullable<V>] extends [readonly (infer E)[]]
  ? (KeySpec<E> & { readonly repeatable: true }) | (KeySpec<NonNullable<V>> & { readonly repeatable?: false })
  : KeySpec<NonNullable<V>> & { readonly repeatable?: false };

/** One row per field of C; `name` comes from the section header. */
export type SectionSchema<C> = { readonly [F in Exclude<keyof C, 'name'>]-?: FieldSpec<C[F]> };

/** A row seen without its type, as validation walks it. */
export interface AnyKeySpec extends KeySpec<unknown> {
  /** The field of the config object the key fills. */
  readonly field: string;
}

export const GENERAL_SCHEMA: SectionSchema<GeneralConfig> = deepFreeze({
  listen: {
    key: 'listen', kind: hostPort(), repeatable: true, default: '127.0.0.1:1234',
    doc: 'Address of a raw AMI (TCP) listener; repeat the key for several. Port 0 picks any free port.',
  },
  bannerVersion: {
    key: 'banner_version', kind: nonEmptyText(),
    defaultDoc: 'the AMI version the default server announced (11.0.0 until one has)',
    doc: 'AMI version amiplex announces to clients in its "Asterisk Call Manager/VERSION" banner.',
  },
  actionTimeout: {
    key: 'action_timeout', kind: duration({ positive: true }), default: '30',
    doc: 'Seconds to wait for a PBX to answer an action before answering the client with an error.',
  },
  clientBuffer: {
    key: 'client_buffer', kind: byteSize(1024, 1024 ** 3), default: '1M',
    doc: "High-water mark of a client's output buffer: above it the client counts as slow.",
  },
  clientBufferMax: {
    key: 'client_buffer_max', kind: byteSize(1024, 4 * 1024 ** 3), default: '16M',
    doc: "Hard cap on a client's output buffer: a client over it is disconnected at once.",
  },
  clientBufferTotal: {
    key: 'client_buffer_total', kind: byteSize(1024 * 1024, 64 * 1024 ** 3), default: '512M',
    doc: 'Budget for the output buffers of all clients together: over it, the clients with the most output queued are disconnected first (counted as lagging clients queue output).',
  },
  slowClientTimeout: {
    key: 'slow_client_timeout', kind: duration({ positive: true }), default: '10',
    doc: 'Seconds a client may stay over client_buffer before it is disconnected.',
  },
  maxPendingActions: {
    key: 'max_pending_actions', kind: integer(1, 1_000_000), default: '1000',
    doc: 'Most actions one client may have waiting for an answer at once.',
  },
  authTimeout: {
    key: 'authtimeout', kind: duration({ positive: true }), default: '30',
    doc: 'Seconds after which a connection that has not logged in is closed, as Asterisk does.',
  },
  authFailDelay: {
    key: 'auth_fail_delay', kind: duration(), default: '1',
    doc: 'Seconds before a failed login is answered and the connection closed, as Asterisk does.',
  },
  http: {
    key: 'http', kind: hostPort(), repeatable: true,
    defaultDoc: 'none (no HTTP listener)',
    doc: 'Address of an HTTP listener (actions by GET/POST, /rawman /mxml /json /csv, SSE /events); repeat for several.',
  },
  httpTimeout: {
    key: 'http_timeout', kind: duration({ positive: true }), default: '30',
    doc: 'Seconds an HTTP request waits for its complete answer before 504; a request may ask for less or more with timeout= (at most 300).',
  },
  httpSessionTimeout: {
    key: 'http_session_timeout', kind: duration({ positive: true }), default: '60',
    doc: 'Seconds an HTTP login session (mansession_id cookie) lives without a request, as Asterisk\'s httptimeout.',
  },
  httpMaxBody: {
    key: 'http_max_body', kind: byteSize(1024, 16 * 1024 ** 2), default: '64K',
    doc: 'Largest POST body accepted (413 beyond).',
  },
  httpMaxUrl: {
    key: 'http_max_url', kind: byteSize(256, 1024 ** 2), default: '8K',
    doc: 'Longest request URL accepted (414 beyond).',
  },
  corsOrigins: {
    key: 'cors_origins', kind: list(nonEmptyText()),
    defaultDoc: 'none (no cross-origin access)',
    doc: 'Origins (scheme://host:port, or *) whose browser apps may call the HTTP listener (CORS).',
  },
  sseReplay: {
    key: 'sse_replay', kind: integer(0, 1_000_000), default: '1000',
    doc: 'Events kept for Server-Sent Events clients that reconnect with Last-Event-ID.',
  },
  logLevel: {
    key: 'log_level', kind: oneOf(LOG_LEVELS), default: 'info',
    doc: `Log level: ${LOG_LEVELS.join(', ')}.`,
  },
});

export const SERVER_SCHEMA: SectionSchema<ServerConfig> = deepFreeze({
  host: {
    key: 'host', kind: host(), required: true,
    doc: 'Host name or IP address of the PBX (no port).',
  },
  port: {
    key: 'port', kind: integer(1, 65535), default: '5038',
    doc: 'AMI port of the PBX.',
  },
  username: {
    key: 'username', kind: nonEmptyText(), required: true,
    doc: 'AMI user amiplex logs in as (a [user] of the PBX manager.conf).',
  },
  secret: {
    key: 'secret', kind: nonEmptyText(), required: true, sensitive: true,
    doc: 'Password of that AMI user.',
  },
  authType: {
    key: 'authtype', kind: oneOf(AUTH_TYPES), default: 'plain',
    doc: 'Login method: plain (secret sent as is) or md5 (Challenge, then a digest).',
  },
  keepalive: {
    key: 'keepalive', kind: duration(), default: '15',
    doc: 'Seconds between Ping actions to the PBX; 0 disables them.',
  },
  keepaliveTimeout: {
    key: 'keepalive_timeout', kind: duration({ positive: true }), default: '10',
    doc: 'Seconds to wait for the answer to a Ping before the connection counts as dead.',
  },
  connectTimeout: {
    key: 'connect_timeout', kind: duration({ positive: true }), default: '10',
    doc: 'Seconds allowed to connect and log in.',
  },
  reconnectMin: {
    key: 'reconnect_min', kind: duration({ positive: true }), default: '0.5',
    doc: 'First delay before reconnecting; it doubles on each failure up to reconnect_max.',
  },
  reconnectMax: {
    key: 'reconnect_max', kind: duration({ positive: true }), default: '30',
    doc: 'Longest delay between reconnection attempts.',
  },
  actionTimeout: {
    key: 'action_timeout', kind: duration({ positive: true }),
    defaultDoc: 'action_timeout of [general]',
    doc: 'Seconds to wait for this PBX to answer an action; overrides [general] action_timeout.',
  },
  maxPending: {
    key: 'max_pending', kind: integer(1, 10_000_000), default: '10000',
    doc: 'Most actions in flight to this PBX, all clients together.',
  },
});

export const USER_SCHEMA: SectionSchema<UserConfig> = deepFreeze({
  secret: {
    key: 'secret', kind: nonEmptyText(), required: true, sensitive: true,
    doc: 'Password the client logs in to amiplex with.',
  },
  servers: {
    key: 'servers', kind: list(name()),
    defaultDoc: 'every server, in the order of this file',
    doc: 'Servers this user may use, by [server] name; the first is its default server.',
  },
  serverHeader: {
    key: 'server_header', kind: boolean(), default: 'yes',
    doc: 'Add a "Server: NAME" header to every event this user receives.',
  },
  format: {
    key: 'format', kind: oneOf(FORMAT_NAMES),
    defaultDoc: "the listener's format",
    doc: `Output format of this user's raw TCP connections: ${FORMAT_NAMES.join(', ')}.`,
  },
});

export const LISTENER_SCHEMA: SectionSchema<ListenerConfig> = deepFreeze({
  listen: {
    key: 'listen', kind: hostPort(), required: true,
    doc: 'Address of this raw AMI (TCP) listener. Port 0 picks any free port.',
  },
  format: {
    key: 'format', kind: oneOf(FORMAT_NAMES), default: 'standard',
    doc: `Output format of the clients of this listener: ${FORMAT_NAMES.join(', ')} (their input stays raw AMI).`,
  },
});

export interface SectionType {
  /** Whether the header carries a name: `[server NAME]`. */
  readonly named: boolean;
  /** Whether the section may appear at most once. */
  readonly once: boolean;
  readonly doc: string;
  readonly keys: readonly AnyKeySpec[];
}

/** The rows of a table, in table order, each with its field name. */
export function keysOf(schema: object): readonly AnyKeySpec[] {
  return Object.freeze(
    Object.entries(schema as Record<string, KeySpec<unknown>>)
      .map(([field, spec]) => Object.freeze({ field, ...spec })),
  );
}

export const SECTION_TYPES = Object.freeze({
  general: Object.freeze({
    named: false, once: true, keys: keysOf(GENERAL_SCHEMA),
    doc: 'Settings of amiplex itself; optional, at most once.',
  }),
  server: Object.freeze({
    named: true, once: false, keys: keysOf(SERVER_SCHEMA),
    doc: 'One PBX amiplex logs in to; the first [server] is the default one.',
  }),
  user: Object.freeze({
    named: true, once: false, keys: keysOf(USER_SCHEMA),
    doc: 'A login that AMI clients use to connect to amiplex.',
  }),
  listener: Object.freeze({
    named: true, once: false, keys: keysOf(LISTENER_SCHEMA),
    doc: 'A raw AMI listener with settings of its own (output format).',
  }),
}) satisfies Readonly<Record<string, SectionType>>;

export type SectionTypeName = keyof typeof SECTION_TYPES;
