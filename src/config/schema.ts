/**
 * The proxy.conf schema: one table per section type. Each row gives a key's name in the
 * file, its value kind, default, whether it is required or repeatable, and a one-line doc.
 * Validation, defaults and documentation all read these tables; a new key is a new row
 * (and a new field in types.ts: the table type requires a row for every field).
 */
import { deepFreeze } from './freeze.js';
import type { ValueKind } from './values.js';
import {
  boolean, byteSize, device, duration, eventFilter, host, hostPort, integer, list, name, namePattern, network,
  natsUrl, nonEmptyText, oneOf, permissionClass, secretHash, subjectToken,
} from './values.js';
import { AUTH_TYPES, LOG_LEVELS } from './types.js';
import type { ClusterConfig, GeneralConfig, ListenerConfig, ServerConfig, UserConfig } from './types.js';
import { builtinFormats } from '../formats.js';
import { builtinInputs } from '../inputs.js';
import { AUTOFILTER_MODES } from '../astmanproxy-actions.js';

/** Every format amiplex ships: registering one in builtinFormats() is all it takes for proxy.conf to accept it. */
const FORMAT_NAMES = builtinFormats().names();
/** Every input format amiplex ships (builtinInputs()). */
const INPUT_NAMES = builtinInputs().names();

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
  /** The key may also be written `key(ARG) = value`; the kind receives ARG. */
  readonly keyed?: boolean;
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
    doc: 'Budget for the output of all clients together (raw AMI clients and event streams), counted as it is queued: over it, the clients with the most queued are disconnected first, until the total is under 7/8 of it. An event shared by many clients is held once, so amiplex\'s memory stays well under the budget.',
  },
  slowClientTimeout: {
    key: 'slow_client_timeout', kind: duration({ positive: true }), default: '10',
    doc: 'Seconds a client may stay over client_buffer before it is disconnected.',
  },
  maxPendingActions: {
    key: 'max_pending_actions', kind: integer(1, 1_000_000), default: '1000',
    doc: 'Most actions one client may have waiting for an answer at once: while a raw AMI client has that many, its input is paused (TCP backpressure on its own connection) until answers come back.',
  },
  eventlistTimeout: {
    key: 'eventlist_timeout', kind: duration({ positive: true }), default: '120',
    doc: "Seconds an EventList may take from its action to its Complete event, however steadily its items flow (action_timeout bounds the wait for each item); then the client gets an error and its later answers are no longer held up.",
  },
  malformedRate: {
    key: 'malformed_rate', kind: integer(1, 1_000_000), default: '1000',
    doc: "Malformed input (bare blank lines, lines too long, messages without an Action) a raw AMI client gets answered per second, after a first burst of as many; faster, its input waits. Each is answered as Asterisk answers it.",
  },
  malformedTimeout: {
    key: 'malformed_timeout', kind: duration({ positive: true }), default: '10',
    doc: 'Seconds a raw AMI client may keep sending malformed input faster than malformed_rate before it is disconnected (logged and counted).',
  },
  authTimeout: {
    key: 'authtimeout', kind: duration({ positive: true }), default: '30',
    doc: 'Seconds after which a connection that has not logged in is closed, as Asterisk does.',
  },
  authFailDelay: {
    key: 'auth_fail_delay', kind: duration(), default: '1',
    doc: "Seconds from the start of a failed login's check to its answer (and the close), as Asterisk waits; the same whatever the check cost, so timing does not tell which users exist (0: answered at once, and then it may).",
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
    doc: 'Origins (scheme://host:port, or *) whose browser apps may call the HTTP listener (CORS); a WebSocket (/ws) only from an origin listed by name (* is not enough).',
  },
  sseReplay: {
    key: 'sse_replay', kind: integer(0, 1_000_000), default: '1000',
    doc: 'Events kept for clients that reconnect: Server-Sent Events with Last-Event-ID, WebSockets with since=.',
  },
  logLevel: {
    key: 'log_level', kind: oneOf(LOG_LEVELS), default: 'info',
    doc: `Log level: ${LOG_LEVELS.join(', ')}.`,
  },
  listenTls: {
    key: 'listen_tls', kind: hostPort(), repeatable: true,
    defaultDoc: 'none (no TLS listener)',
    doc: 'Address of a raw AMI over TLS listener (certificate: tls_cert, tls_key); repeat for several.',
  },
  https: {
    key: 'https', kind: hostPort(), repeatable: true,
    defaultDoc: 'none (no HTTPS listener)',
    doc: 'Address of an HTTPS listener, the same service as http; repeat for several.',
  },
  tlsCert: {
    key: 'tls_cert', kind: nonEmptyText(), default: 'certs/amiplex.pem',
    doc: 'PEM certificate (chain) of the TLS listeners, relative to the folder of proxy.conf. When it and tls_key are both missing, amiplex generates a self-signed pair there at start.',
  },
  tlsKey: {
    key: 'tls_key', kind: nonEmptyText(), default: 'certs/amiplex.key',
    doc: 'PEM private key of tls_cert, relative to the folder of proxy.conf.',
  },
  tlsClientCa: {
    key: 'tls_client_ca', kind: nonEmptyText(),
    defaultDoc: 'none (no client certificate asked for)',
    doc: 'PEM CA file: when set, the listen_tls and https listeners accept only clients presenting a certificate it signed (mutual TLS).',
  },
  permit: {
    key: 'permit', kind: network(), repeatable: true,
    defaultDoc: 'none',
    doc: 'Network allowed to connect to the listeners of [general] (listen, listen_tls, http, https); repeat for several. The most specific permit or deny matching an address decides; with a permit given, unmatched addresses are refused. A refused connection is closed before anything is read or written (before TLS); a reload applies to the next connection.',
  },
  deny: {
    key: 'deny', kind: network(), repeatable: true,
    defaultDoc: 'none',
    doc: 'Network refused by the listeners of [general]; repeat for several.',
  },
  authLimit: {
    key: 'authlimit', kind: integer(1, 1_000_000), default: '50',
    doc: 'Most raw AMI connections that have not logged in yet (TLS handshakes under way included), all listeners together, as Asterisk\'s authlimit; further ones are closed at once.',
  },
  lockoutFailures: {
    key: 'lockout_failures', kind: integer(0, 1_000_000), default: '5',
    doc: 'Failed logins from one address within lockout_window, whatever user names they tried, that lock the address out for lockout_time; a successful login clears only that user\'s failures from that address; 0 disables the per-address lockout.',
  },
  lockoutUserFailures: {
    key: 'lockout_user_failures', kind: integer(0, 1_000_000), default: '20',
    doc: 'Failed logins as one user name within lockout_window, from any addresses, that lock that name out for lockout_time, except from addresses it logged in from before; 0 disables the per-user lockout.',
  },
  lockoutWindow: {
    key: 'lockout_window', kind: duration({ positive: true }), default: '60',
    doc: 'Seconds over which failed logins are counted for the lockout.',
  },
  lockoutTime: {
    key: 'lockout_time', kind: duration({ positive: true }), default: '300',
    doc: 'Seconds a locked-out address or user name is refused (every login fails, even with the right secret).',
  },
  redactHeaders: {
    key: 'redact_headers', kind: list(nonEmptyText()),
    defaultDoc: 'none (Secret and Key are always hidden)',
    doc: 'Headers whose values never appear in logs, besides Secret and Key (e.g. Variable).',
  },
  audit: {
    key: 'audit', kind: boolean(), default: 'yes',
    doc: 'Log one line per action: user, address, server, action and result.',
  },
  metricsPermit: {
    key: 'metrics_permit', kind: network(), repeatable: true,
    defaultDoc: '127.0.0.0/8 and ::1 (loopback only)',
    doc: 'Network that may read /metrics without logging in; others get 403. Repeat for several.',
  },
  shutdownTimeout: {
    key: 'shutdown_timeout', kind: duration({ positive: true }), default: '10',
    doc: 'Seconds a graceful shutdown (SIGTERM, SIGINT) may take before amiplex exits anyway.',
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
  tls: {
    key: 'tls', kind: boolean(), default: 'no',
    doc: 'Connect to the PBX with AMI over TLS (Asterisk\'s tlsenable, port 5039 by convention).',
  },
  tlsCa: {
    key: 'tls_ca', kind: nonEmptyText(),
    defaultDoc: "Node's bundled CA certificates",
    doc: 'PEM CA file the PBX certificate must chain to, relative to the folder of proxy.conf.',
  },
  tlsVerify: {
    key: 'tls_verify', kind: boolean(), default: 'yes',
    doc: 'Check the PBX certificate (chain and name); "no" accepts any certificate and is logged as a warning.',
  },
  tlsServername: {
    key: 'tls_servername', kind: nonEmptyText(),
    defaultDoc: 'host',
    doc: 'Name the PBX certificate must carry (and the SNI sent), when it differs from host.',
  },
});

export const USER_SCHEMA: SectionSchema<UserConfig> = deepFreeze({
  secret: {
    key: 'secret', kind: nonEmptyText(), sensitive: true,
    defaultDoc: 'none; one of secret and secret_hash is required',
    doc: 'Password the client logs in to amiplex with, in plain text (allows the MD5 challenge login).',
  },
  secretHash: {
    key: 'secret_hash', kind: secretHash(), sensitive: true,
    defaultDoc: 'none',
    doc: 'The password as an scrypt hash printed by "amiplex hash-secret", or a bcrypt hash ($2a$, $2b$, $2y$, as astmanproxy.users keeps them), instead of secret (plain logins only: MD5 needs the plain secret).',
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
  serverHeaderAnswers: {
    key: 'server_header_answers', kind: boolean(), default: 'no',
    doc: 'Add a "Server: NAME" header to every message of a PBX\'s answer this user receives too (responses, list items, events carrying its ActionID), as astmanproxy did.',
  },
  format: {
    key: 'format', kind: oneOf(FORMAT_NAMES),
    defaultDoc: "the listener's format",
    doc: `Output format of this user's raw TCP connections: ${FORMAT_NAMES.join(', ')}.`,
  },
  permit: {
    key: 'permit', kind: network(), repeatable: true,
    defaultDoc: 'none',
    doc: 'Network this user may log in from; repeat for several (same rules as in [general]). A login from elsewhere fails as a wrong secret does.',
  },
  deny: {
    key: 'deny', kind: network(), repeatable: true,
    defaultDoc: 'none',
    doc: 'Network this user may not log in from; repeat for several.',
  },
  actions: {
    key: 'actions', kind: list(namePattern()),
    defaultDoc: 'every action',
    doc: 'Actions this user may send, "*" matching any characters, case ignored (Originate, Core*, ...). Others get "Permission denied".',
  },
  denyActions: {
    key: 'deny_actions', kind: list(namePattern()),
    defaultDoc: 'none',
    doc: 'Actions this user may not send, even if actions allows them (Command, *Reload, ...).',
  },
  write: {
    key: 'write', kind: list(permissionClass()),
    defaultDoc: 'all',
    doc: "manager.conf write classes: an action whose class (as Asterisk's ListCommands gives it) is not among them is refused.",
  },
  read: {
    key: 'read', kind: list(permissionClass()),
    defaultDoc: 'all',
    doc: 'manager.conf read classes: events of other classes are not sent to this user.',
  },
  events: {
    key: 'events', kind: list(namePattern()),
    defaultDoc: 'every event',
    doc: 'Names of the events this user receives ("*" globs, case ignored); others are not sent.',
  },
  denyEvents: {
    key: 'deny_events', kind: list(namePattern()),
    defaultDoc: 'none',
    doc: 'Names of events never sent to this user (VarSet, Newexten, RTCP*, ...).',
  },
  eventFilter: {
    key: 'eventfilter', kind: eventFilter(), repeatable: true, keyed: true,
    defaultDoc: 'none',
    doc: "Asterisk 22's eventfilter, with its semantics: legacy \"eventfilter = REGEX\" (\"!\" excludes) or \"eventfilter(action(include|exclude),name(EVENT),header(HEADER),method(regex|exact|starts_with|ends_with|contains|none)) = EXPRESSION\". Repeat for several.",
  },
  channels: {
    key: 'channels', kind: list(device()),
    defaultDoc: 'none (no device scoping)',
    doc: "The user's own devices (PJSIP/1001, SIP/1001): Originate, Hangup, Redirect and other channel actions must name one of them, and the user receives only events about them.",
  },
  context: {
    key: 'context', kind: nonEmptyText(),
    defaultDoc: 'none (the Originate action says)',
    doc: "Dialplan context forced on this user's actions that send a call into the dialplan: Originate, Redirect (Context, ExtraContext), BlindTransfer, Atxfer (Application originates are then refused).",
  },
  status: {
    key: 'status', kind: boolean(), default: 'no',
    doc: "May open the status page (/ on the HTTP listeners): an operator's page that shows every PBX and every client, whatever this user's servers.",
  },
});

export const LISTENER_SCHEMA: SectionSchema<ListenerConfig> = deepFreeze({
  listen: {
    key: 'listen', kind: hostPort(), required: true,
    doc: 'Address of this listener. Port 0 picks any free port.',
  },
  input: {
    key: 'input', kind: oneOf(INPUT_NAMES), default: 'standard',
    doc: `What its clients send: ${INPUT_NAMES.join(', ')}. standard is raw AMI; xml astmanproxy's <AsteriskManagerInput> blocks; json one JSON object per line; http makes it an HTTP listener (as http = in [general]) with this section's format, permit, deny and TLS.`,
  },
  format: {
    key: 'format', kind: oneOf(FORMAT_NAMES), default: 'standard',
    doc: `Output format of the clients of this listener: ${FORMAT_NAMES.join(', ')}. With input = http, the format of an action at /, /action or any other path that does not choose one.`,
  },
  autofilter: {
    key: 'autofilter', kind: oneOf(AUTOFILTER_MODES), default: 'off',
    doc: "astmanproxy's autofilter for raw clients: on (or unique) sends a client only the answers and events that carry its own ActionIDs, no other events; off sends events as usual. A client changes its own with ProxyAction: SetAutoFilter.",
  },
  tls: {
    key: 'tls', kind: boolean(), default: 'no',
    doc: 'Raw AMI over TLS (HTTPS with input = http), with the [general] tls_cert and tls_key.',
  },
  anonymousUser: {
    key: 'anonymous_user', kind: name(),
    defaultDoc: 'none (clients log in)',
    doc: "Clients of this listener act as this [user] without logging in (astmanproxy's authrequired = no). Only for a listener limited by address: bound to a loopback address, or with permit lines none of which is every address; --check refuses it otherwise, and amiplex logs it at start.",
  },
  proxyKeyUser: {
    key: 'proxy_key_user', kind: name(),
    defaultDoc: 'none (ProxyKey is not accepted)',
    doc: "astmanproxy's proxykey: a client not logged in that sends a ProxyKey header (on any action) logs in as this [user], the key being its secret (lockout and auth_fail_delay apply). Refused over plain TCP from an address that is not loopback unless proxy_key_plain = yes.",
  },
  proxyKeyPlain: {
    key: 'proxy_key_plain', kind: boolean(), default: 'no',
    doc: 'Accept ProxyKey over plain (not TLS) connections from other machines, where anyone on the way can read it.',
  },
  tlsClientCa: {
    key: 'tls_client_ca', kind: nonEmptyText(),
    defaultDoc: 'none (no client certificate asked for)',
    doc: 'PEM CA file: clients must present a certificate it signed (mutual TLS; needs tls = yes).',
  },
  permit: {
    key: 'permit', kind: network(), repeatable: true,
    defaultDoc: 'none',
    doc: 'Network allowed to connect to this listener; repeat for several (same rules as in [general]). A [listener] follows only its own permit and deny, not those of [general].',
  },
  deny: {
    key: 'deny', kind: network(), repeatable: true,
    defaultDoc: 'none',
    doc: 'Network refused by this listener; repeat for several.',
  },
});

export const CLUSTER_SCHEMA: SectionSchema<ClusterConfig> = deepFreeze({
  nats: {
    key: 'nats', kind: natsUrl(), repeatable: true, required: true,
    doc: 'A NATS server of the cluster (JetStream on), nats://HOST:PORT or tls://HOST:PORT; repeat for several: amiplex connects to one and moves to another when it goes away.',
  },
  node: {
    key: 'node', kind: subjectToken(),
    defaultDoc: 'the host name (characters other than letters, digits, "_" and "-" become "-")',
    doc: "This node's name, unique in the cluster: it names the node on the status page, in ProxyListServers (Node:) and in the leases of the PBXes it holds.",
  },
  name: {
    key: 'name', kind: subjectToken(), default: 'amiplex',
    doc: "The cluster's name: every NATS subject, stream and bucket amiplex uses starts with it, so several clusters can share one NATS.",
  },
  leaseTtl: {
    key: 'lease_ttl', kind: duration({ positive: true, max: 3600 }), default: '10',
    doc: 'Seconds a PBX lease lives without renewal (at least 1): the holder renews it every third of this, and drops its AMI session when it could not for three quarters of it; a dead node\'s PBXes are taken over after at most this long plus a login.',
  },
  user: {
    key: 'user', kind: nonEmptyText(),
    defaultDoc: 'none',
    doc: 'NATS user name (with password).',
  },
  password: {
    key: 'password', kind: nonEmptyText(), sensitive: true,
    defaultDoc: 'none',
    doc: 'NATS password of user.',
  },
  token: {
    key: 'token', kind: nonEmptyText(), sensitive: true,
    defaultDoc: 'none',
    doc: 'NATS authentication token, instead of user and password.',
  },
  creds: {
    key: 'creds', kind: nonEmptyText(),
    defaultDoc: 'none',
    doc: 'NATS credentials file (a user JWT and its NKey seed, as nsc writes it), relative to the folder of proxy.conf.',
  },
  tlsCa: {
    key: 'tls_ca', kind: nonEmptyText(),
    defaultDoc: "Node's bundled CA certificates",
    doc: 'PEM CA file the NATS server certificate must chain to (tls:// servers), relative to the folder of proxy.conf.',
  },
  tlsCert: {
    key: 'tls_cert', kind: nonEmptyText(),
    defaultDoc: 'none (no client certificate)',
    doc: 'PEM client certificate for NATS servers that require one (with tls_key), relative to the folder of proxy.conf.',
  },
  tlsKey: {
    key: 'tls_key', kind: nonEmptyText(),
    defaultDoc: 'none',
    doc: 'PEM private key of tls_cert, relative to the folder of proxy.conf.',
  },
});

export interface SectionType {
  /** Whether the header carries a name: `[server NAME]`. */
  readonly named: boolean;
  /** Whether the section may appear at most once. */
  readonly once: boolean;
  readonly doc: string;
  readonly keys: readonly AnyKeySpec[];
  /** Groups of fields of which exactly one must be given. */
  readonly exactlyOne?: readonly (readonly string[])[];
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
    exactlyOne: Object.freeze([Object.freeze(['secret', 'secretHash'])]),
    doc: 'A login that AMI clients use to connect to amiplex.',
  }),
  listener: Object.freeze({
    named: true, once: false, keys: keysOf(LISTENER_SCHEMA),
    doc: 'A raw AMI listener with settings of its own (output format).',
  }),
  cluster: Object.freeze({
    named: false, once: true, keys: keysOf(CLUSTER_SCHEMA),
    doc: 'Several amiplex nodes sharing their PBXes through NATS; optional, at most once.',
  }),
}) satisfies Readonly<Record<string, SectionType>>;

export type SectionTypeName = keyof typeof SECTION_TYPES;
