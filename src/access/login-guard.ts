/**
 * Brute-force brake, counted two ways. Pure: the caller passes the time.
 *
 * - Per address: `failures` failed logins from one address within `windowMs`, whatever user
 *   names they tried (unknown names and malformed credentials included), lock the address out
 *   for `lockoutMs`: every login from it fails, even with the right secret.
 * - Per user name: `userFailures` failed logins as one user name within `windowMs`, from any
 *   addresses, lock that name out for `lockoutMs`, except from the addresses where it logged in
 *   successfully before (so a distributed guess cannot lock a user's own scripts out).
 *
 * A successful login as user U from address A clears only U's failures from A, in both counts:
 * someone who holds one valid account cannot reset the count of their guesses at another's
 * secret by logging in as themselves in between.
 *
 * Memory is bounded: at most `maxTracked` addresses and as many user names are remembered
 * (oldest forgotten first), and at most TRUSTED_PER_USER addresses per user. An IPv4 peer counts
 * as one address whether a socket reports it as `1.2.3.4` or, on a dual-stack listener,
 * `::ffff:1.2.3.4`; user names are compared without case, as logins are.
 */
export interface LoginGuardSettings {
  /** Failures from one address that lock it out; 0 disables the per-address lockout. */
  readonly failures: number;
  /** Failures as one user name that lock it out; 0 (or absent) disables the per-user lockout. */
  readonly userFailures?: number;
  readonly windowMs: number;
  readonly lockoutMs: number;
  readonly maxTracked?: number;
}

/** What a lockout applies to. */
export type LockScope = 'address' | 'user';

export interface Lock {
  readonly scope: LockScope;
  /** ms since the epoch */
  readonly until: number;
}

/** One failed login: when, and under which name (undefined: none could be read). */
interface Failure {
  readonly at: number;
  readonly other: string | undefined;
}

interface Tally {
  /** Recent failures, oldest first; `other` is the user name (per address) or the address (per user). */
  failures: Failure[];
  lockedUntil: number;
}

/** Addresses a user logged in from are remembered this long after their last success. */
export const TRUSTED_FOR_MS = 7 * 24 * 3600 * 1000;
/** ...and at most this many per user, the least recently used forgotten first. */
export const TRUSTED_PER_USER = 16;

export class LoginGuard {
  private readonly byAddress = new Map<string, Tally>();
  private readonly byUser = new Map<string, Tally>();
  /** user name → address → time of its last successful login from there */
  private readonly trusted = new Map<string, Map<string, number>>();
  private readonly maxTracked: number;

  constructor(private settings: LoginGuardSettings) {
    this.maxTracked = settings.maxTracked ?? 100_000;
  }

  /** New limits (a reload); what was counted so far stays. */
  configure(settings: LoginGuardSettings): void {
    this.settings = settings;
  }

  /** Until when `address` is locked out (ms since the epoch), or undefined when it is not. */
  lockedUntil(address: string, now: number): number | undefined {
    const r = this.byAddress.get(addressKey(address));
    return r !== undefined && r.lockedUntil > now ? r.lockedUntil : undefined;
  }

  /** The lockout a login as `user` from `address` runs into now, if any (the address's first). */
  blocked(address: string, user: string | undefined, now: number): Lock | undefined {
    const a = this.lockedUntil(address, now);
    if (a !== undefined) return { scope: 'address', until: a };
    if (user === undefined) return undefined;
    const name = userKey(user);
    const r = this.byUser.get(name);
    if (r === undefined || r.lockedUntil <= now) return undefined;
    const since = this.trusted.get(name)?.get(addressKey(address));
    if (since !== undefined && since > now - TRUSTED_FOR_MS) return undefined;
    return { scope: 'user', until: r.lockedUntil };
  }

  /**
   * Counts a failed login from `address` as `user` (undefined when the credentials named no
   * user, or could not be read). Returns what this failure locked out, if it locked anything.
   */
  failed(address: string, user: string | undefined, now: number): LockScope | undefined {
    const { failures, windowMs, lockoutMs } = this.settings;
    const userFailures = this.settings.userFailures ?? 0;
    const addr = addressKey(address);
    const name = user === undefined ? undefined : userKey(user);
    let locked: LockScope | undefined;
    if (failures > 0 && count(this.tally(this.byAddress, addr), now, name, failures, windowMs, lockoutMs)) locked = 'address';
    if (userFailures > 0 && name !== undefined && count(this.tally(this.byUser, name), now, addr, userFailures, windowMs, lockoutMs)) {
      locked ??= 'user';
    }
    return locked;
  }

  /** A successful login as `user` from `address`: clears that user's failures from that address only. */
  succeeded(address: string, user: string, now: number): void {
    const addr = addressKey(address);
    const name = userKey(user);
    const a = this.byAddress.get(addr);
    if (a !== undefined) {
      a.failures = a.failures.filter((f) => f.other !== name);
      if (a.failures.length === 0 && a.lockedUntil === 0) this.byAddress.delete(addr);
    }
    const u = this.byUser.get(name);
    if (u !== undefined) {
      u.failures = u.failures.filter((f) => f.other !== addr);
      if (u.failures.length === 0 && u.lockedUntil === 0) this.byUser.delete(name);
    }
    let known = this.trusted.get(name);
    if (known === undefined) {
      if (this.trusted.size >= this.maxTracked) this.trusted.delete(this.trusted.keys().next().value!);
      known = new Map();
      this.trusted.set(name, known);
    }
    known.delete(addr);
    known.set(addr, now);
    if (known.size > TRUSTED_PER_USER) known.delete(known.keys().next().value!);
  }

  /** Forgets what no longer matters (expired lockouts, old failures, old trusted addresses); call now and then. */
  sweep(now: number): void {
    for (const tallies of [this.byAddress, this.byUser]) {
      for (const [k, r] of tallies) {
        const last = r.failures[r.failures.length - 1];
        const recent = last !== undefined && last.at > now - this.settings.windowMs;
        if (r.lockedUntil <= now && !recent) tallies.delete(k);
      }
    }
    for (const [name, known] of this.trusted) {
      for (const [addr, at] of known) if (at <= now - TRUSTED_FOR_MS) known.delete(addr);
      if (known.size === 0) this.trusted.delete(name);
    }
  }

  private tally(map: Map<string, Tally>, key: string): Tally {
    let r = map.get(key);
    if (r === undefined) {
      if (map.size >= this.maxTracked) map.delete(map.keys().next().value!);
      r = { failures: [], lockedUntil: 0 };
      map.set(key, r);
    }
    return r;
  }
}

/**
 * Adds one failure to a tally; true when it locks. A failure while the tally is locked is not
 * counted (the lockout is not extended); after it, counting starts again.
 */
function count(r: Tally, now: number, other: string | undefined, limit: number, windowMs: number, lockoutMs: number): boolean {
  if (r.lockedUntil > now) return false;
  r.failures.push({ at: now, other });
  // Only the last `limit` failures can matter: the list stays that short whatever the rate.
  if (r.failures.length > limit) r.failures.shift();
  while (r.failures.length > 0 && r.failures[0]!.at <= now - windowMs) r.failures.shift();
  if (r.failures.length < limit) return false;
  r.lockedUntil = now + lockoutMs;
  r.failures = [];
  return true;
}

/** One key per peer: IPv4-mapped IPv6 as plain IPv4, IPv6 in lower case. */
function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

function userKey(user: string): string {
  return user.toLowerCase();
}
