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
}

/** A raw AMI listener with settings of its own (`[listener NAME]`). */
export interface ListenerConfig {
  readonly name: string;
  readonly listen: HostPort;
  /** Output format of its clients (unless their user or ProxySetFormat says otherwise). */
  /** The name of a registered output format (see src/formats.ts). */
  readonly format: string;
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
}

export interface UserConfig {
  readonly name: string;
  readonly secret: string;
  /** Server names this user may use, resolved and never empty; the first is its default. */
  readonly servers: string[];
  readonly serverHeader: boolean;
  /** Output format for this user's raw TCP connections; absent: the listener's. */
  readonly format?: string;
}

export interface ProxyConfig {
  readonly general: GeneralConfig;
  /** In file order; the first is the overall default. */
  readonly servers: ServerConfig[];
  readonly users: UserConfig[];
  /** `[listener NAME]` sections, in file order (`[general] listen` ones are in general.listen). */
  readonly listeners: ListenerConfig[];
  /** The file the configuration was read from, as given. */
  readonly file: string;
}
