/**
 * The simulator's options and their defaults, resolved once into a frozen object.
 */
import { classListToMask } from './permissions.js';

/** A manager.conf user. `read`/`write` are class lists like manager.conf (default `all`). */
export interface SimUser {
  username: string;
  secret: string;
  read?: string;
  write?: string;
}

export interface SimulatorOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on (default 0 = any free port; kept across stop()/start()). */
  port?: number;
  /** Default: admin/admin (all) and monitor/monitor (read `call,system`, write nothing). */
  users?: SimUser[];
  /** Background call traffic in events per second (0 = none, the default). */
  rate?: number;
  /** AMI version in the banner and CoreSettings (default 11.0.0). */
  amiVersion?: string;
  /** Asterisk version in CoreSettings and `core show version` (default 22.10.1). */
  asteriskVersion?: string;
  /** Delay before a failed login is answered and the connection closed (default 1000 ms). */
  authFailDelayMs?: number;
  /** Spacing of EventList items (default 0); >0 lets a test kill the PBX mid-list. */
  listItemDelayMs?: number;
  /** Unauthenticated sessions are closed silently after this long (default 30 000 ms). */
  authTimeoutMs?: number;
  /** flood(): pause while any session has more than this many bytes unsent (default 256 KiB). */
  floodHighWaterMark?: number;
}

export interface ResolvedUser {
  readonly username: string;
  readonly secret: string;
  readonly readPerm: number;
  readonly writePerm: number;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly users: ReadonlyMap<string, ResolvedUser>;
  readonly rate: number;
  readonly amiVersion: string;
  readonly asteriskVersion: string;
  readonly authFailDelayMs: number;
  readonly listItemDelayMs: number;
  readonly authTimeoutMs: number;
  readonly floodHighWaterMark: number;
}

export const DEFAULT_USERS: readonly SimUser[] = Object.freeze([
  { username: 'admin', secret: 'admin', read: 'all', write: 'all' },
  { username: 'monitor', secret: 'monitor', read: 'call,system', write: '' },
]);

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`SimulatorOptions.${name} must be a number >= 0`);
  return value;
}

export function resolveOptions(opts: SimulatorOptions = {}): ResolvedOptions {
  const users = new Map<string, ResolvedUser>();
  for (const u of opts.users ?? DEFAULT_USERS) {
    // Asterisk looks users up case-insensitively (they are manager.conf categories).
    const key = u.username.toLowerCase();
    if (users.has(key)) throw new Error(`SimulatorOptions.users: duplicate user '${u.username}'`);
    users.set(key, {
      username: u.username,
      secret: u.secret,
      readPerm: classListToMask(u.read ?? 'all'),
      writePerm: classListToMask(u.write ?? 'all'),
    });
  }
  const port = nonNegative('port', opts.port, 0);
  if (!Number.isInteger(port) || port > 65535) throw new RangeError('SimulatorOptions.port must be an integer 0..65535');
  return Object.freeze({
    host: opts.host ?? '127.0.0.1',
    port,
    users,
    rate: nonNegative('rate', opts.rate, 0),
    amiVersion: opts.amiVersion ?? '11.0.0',
    asteriskVersion: opts.asteriskVersion ?? '22.10.1',
    authFailDelayMs: nonNegative('authFailDelayMs', opts.authFailDelayMs, 1000),
    listItemDelayMs: nonNegative('listItemDelayMs', opts.listItemDelayMs, 0),
    authTimeoutMs: nonNegative('authTimeoutMs', opts.authTimeoutMs, 30_000),
    floodHighWaterMark: nonNegative('floodHighWaterMark', opts.floodHighWaterMark, 256 * 1024),
  });
}
