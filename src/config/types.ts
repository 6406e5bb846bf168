/**
 * The shape of a validated proxy.conf. Every object is deeply frozen by `parseConfig`.
 * Durations are seconds (decimals allowed), sizes are bytes.
 */

/** pino's level names, `silent` included. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];


export const AUTH_TYPES = ['plain', 'md5'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

/** An address; `host` is kept without brackets (`::1`, not `[::1]`). Port 0: any free port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface GeneralConfig {
  /** Raw AMI TCP listeners. */
  readonly listen: HostPort[];
  /** Version in the banner; absent: the version the default server announced. */
  readonly bannerVersion?: string;
  readonly actionTimeout: number;
  readonly clientBuffer: number;
  readonly clientBufferMax: number;
  readonly clientBufferTotal: number;
  readonly slowClientTimeout: number;
  readonly maxPendingActions: number;
  /** Seconds an EventList may take in all. */
  readonly eventlistTimeout: number;
  /** Malformed input answered per second per raw AMI client, and how long it may go on faster. */
  readonly malformedRate: number;
  readonly malformedTimeout: number;
  readonly authTimeout: number;
  readonly authFailDelay: number;
  /** HTTP listeners (none when absent). */
  readonly http?: HostPort[];
  readonly httpTimeout: number;
  readonly httpSessionTimeout: number;
  readonly httpMaxBody: number;
  readonly httpMaxUrl: number;
  /** Origins allowed by CORS; absent: none. */
  readonly corsOrigins?: string[];
  readonly sseReplay: number;
  readonly logLevel: LogLevel;
  /** Raw AMI over TLS listeners (none when absent). */
  readonly listenTls?: HostPort[];
  /** HTTPS listeners (none when absent). */
  readonly https?: HostPort[];
  /** Certificate and key of the TLS listeners (paths relative to proxy.conf's folder). */
  readonly tlsCert: string;
  readonly tlsKey: string;
  /** When set, the TLS listeners of [general] require a client certificate signed by this CA. */
  readonly tlsClientCa?: string;
  /** Address ACL of the [general] listeners. */
  readonly permit?: string[];
  readonly deny?: string[];
  /** Most connections that have not logged in yet, all listeners together. */
  readonly authLimit: number;
  /** Failed logins from one address within lockoutWindow that lock it out; 0: no lockout. */
  readonly lockoutFailures: number;
  /** Failed logins as one user name within lockoutWindow that lock the name out; 0: no such lockout. */
  readonly lockoutUserFailures: number;
  readonly lockoutWindow: number;
  readonly lockoutTime: number;
  /** Headers whose values are hidden in logs, besides Secret and Key. */
  readonly redactHeaders?: string[];
  /** One log line per action. */
  readonly audit: boolean;
  /** Addresses that may read /metrics without logging in; absent: loopback only. */
  readonly metricsPermit?: string[];
  /** Seconds a graceful shutdown may take before amiplex exits anyway. */
  readonly shutdownTimeout: number;
}

/** One eventfilter line: legacy (`eventfilter = REGEX`) or structured (`eventfilter(CRITERIA) = EXPRESSION`). */
export interface EventFilterSpec {
  /** What is between the parentheses of `eventfilter(...)`; absent for the legacy form. */
  readonly criteria?: string;
  readonly expression: string;
}

/** A raw AMI listener with settings of its own (`[listener NAME]`). */
export interface ListenerConfig {
  readonly name: string;
  readonly listen: HostPort;
  /** The name of a registered input format (see src/inputs.ts); `http` makes it an HTTP listener. */
  readonly input: string;
  /** Output format of its clients (unless their user or ProxySetFormat says otherwise). */
  /** The name of a registered output format (see src/formats.ts). */
  readonly format: string;
  /** astmanproxy's autofilter for its raw clients. */
  readonly autofilter: 'off' | 'on' | 'unique';
  /** Raw AMI over TLS (certificate: [general] tls_cert / tls_key). */
  readonly tls: boolean;
  /** When set, clients must present a certificate signed by this CA (needs tls = yes). */
  readonly tlsClientCa?: string;
  readonly permit?: string[];
  readonly deny?: string[];
  /** Clients act as this user without logging in (only on a listener limited by address). */
  readonly anonymousUser?: string;
  /** A ProxyKey header logs a client in as this user, the key as its secret. */
  readonly proxyKeyUser?: string;
  /** ProxyKey accepted over plain TCP from other machines. */
  readonly proxyKeyPlain: boolean;
}

export interface ServerConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: string;
  readonly authType: AuthType;
  readonly keepalive: number;
  readonly keepaliveTimeout: number;
  readonly connectTimeout: number;
  readonly reconnectMin: number;
  readonly reconnectMax: number;
  /** Absent: `general.actionTimeout`. */
  readonly actionTimeout?: number;
  readonly maxPending: number;
  /** AMI over TLS to the PBX. */
  readonly tls: boolean;
  /** CA file the PBX certificate must chain to; absent: Node's bundled CAs. */
  readonly tlsCa?: string;
  readonly tlsVerify: boolean;
  /** Name the PBX certificate must carry; absent: `host`. */
  readonly tlsServername?: string;
}

export interface UserConfig {
  readonly name: string;
  /** Plain secret (allows the MD5 challenge); exactly one of secret and secretHash is set. */
  readonly secret?: string;
  /** scrypt hash of the secret (`amiplex hash-secret`). */
  readonly secretHash?: string;
  /** Server names this user may use, resolved and never empty; the first is its default. */
  readonly servers: string[];
  readonly serverHeader: boolean;
  /** Server header on the answers from a PBX too (astmanproxy's habit). */
  readonly serverHeaderAnswers: boolean;
  /** Output format for this user's raw TCP connections; absent: the listener's. */
  readonly format?: string;
  /** Address ACL of this user's logins. */
  readonly permit?: string[];
  readonly deny?: string[];
  /** Actions allowed (`*` globs, any case); absent: all. */
  readonly actions?: string[];
  /** Actions refused even when `actions` allows them. */
  readonly denyActions?: string[];
  /** manager.conf write classes: actions of other classes are refused; absent: all. */
  readonly write?: string[];
  /** manager.conf read classes: events of other classes are not sent; absent: all. */
  readonly read?: string[];
  /** Event names (globs) this user receives; absent: all. */
  readonly events?: string[];
  /** Event names (globs) this user never receives. */
  readonly denyEvents?: string[];
  /** Asterisk eventfilter lines, in file order. */
  readonly eventFilter?: EventFilterSpec[];
  /** Devices this user may act on and sees events of (`PJSIP/1001`). */
  readonly channels?: string[];
  /** Context forced on this user's Originate actions. */
  readonly context?: string;
  /** May see the status page. */
  readonly status: boolean;
}

/**
 * `[cluster]`: several amiplex nodes share their PBXes through NATS (see docs/cluster.md).
 * Absent: one process on its own, and no NATS code runs.
 */
export interface ClusterConfig {
  /** The NATS servers (`nats://host:port` or `tls://host:port`), in file order. */
  readonly nats: string[];
  /** This node's name; absent: the host name (see src/cluster/node-name.ts). */
  readonly node?: string;
  /** The cluster's name: it prefixes every subject, stream and bucket, so clusters can share one NATS. */
  readonly name: string;
  /** Seconds a PBX lease lives without renewal. */
  readonly leaseTtl: number;
  /** NATS user and password. */
  readonly user?: string;
  readonly password?: string;
  /** NATS token. */
  readonly token?: string;
  /** NATS credentials file (JWT and NKey seed), relative to the folder of proxy.conf. */
  readonly creds?: string;
  /** TLS to NATS: CA file, and a client certificate and key (mutual TLS); relative to the folder of proxy.conf. */
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export interface ProxyConfig {
  readonly general: GeneralConfig;
  /** In file order; the first is the overall default. */
  readonly servers: ServerConfig[];
  readonly users: UserConfig[];
  /** `[listener NAME]` sections, in file order (`[general] listen` ones are in general.listen). */
  readonly listeners: ListenerConfig[];
  /** `[cluster]`, when given. */
  readonly cluster?: ClusterConfig;
  /** The file the configuration was read from, as given. */
  readonly file: string;
}
