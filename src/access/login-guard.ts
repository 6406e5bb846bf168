/**
 * Brute-force brake per client address: `failures` failed logins within `windowMs` lock the
 * address out for `lockoutMs`, during which every login from it fails (even with the right
 * secret). A successful login clears the address's count. Pure: the caller passes the time.
 * Memory is bounded: at most `maxTracked` addresses are remembered (oldest forgotten first).
 * An IPv4 peer counts as one address whether a socket reports it as `1.2.3.4` or, on a
 * dual-stack listener, `::ffff:1.2.3.4`.
 */
export interface LoginGuardSettings {
  /** 0 disables the lockout. */
  readonly failures: number;
  readonly windowMs: number;
  readonly lockoutMs: number;
  readonly maxTracked?: number;
}

interface Record {
  /** Times of recent failures, oldest first. */
  failures: number[];
  lockedUntil: number;
}

export class LoginGuard {
  private readonly byAddress = new Map<string, Record>();
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
    const r = this.byAddress.get(key(address));
    return r !== undefined && r.lockedUntil > now ? r.lockedUntil : undefined;
  }

  /** Counts a failure; returns true when this failure locks the address out. */
  failed(peer: string, now: number): boolean {
    const { failures, windowMs, lockoutMs } = this.settings;
    if (failures <= 0) return false;
    const address = key(peer);
    let r = this.byAddress.get(address);
    if (r === undefined) {
      if (this.byAddress.size >= this.maxTracked) this.byAddress.delete(this.byAddress.keys().next().value!);
      r = { failures: [], lockedUntil: 0 };
      this.byAddress.set(address, r);
    }
    r.failures.push(now);
    // Only the last `failures` times can matter: the list stays that short whatever the rate.
    if (r.failures.length > failures) r.failures.shift();
    while (r.failures.length > 0 && r.failures[0]! <= now - windowMs) r.failures.shift();
    if (r.lockedUntil <= now && r.failures.length >= failures) {
      r.lockedUntil = now + lockoutMs;
      r.failures = [];
      return true;
    }
    return false;
  }

  succeeded(peer: string): void {
    const address = key(peer);
    const r = this.byAddress.get(address);
    if (r !== undefined && r.lockedUntil === 0) this.byAddress.delete(address);
    else if (r !== undefined) r.failures = [];
  }

  /** Forgets what no longer matters (expired lockouts, old failures); call now and then. */
  sweep(now: number): void {
    for (const [address, r] of this.byAddress) {
      const recent = r.failures.length > 0 && r.failures[r.failures.length - 1]! > now - this.settings.windowMs;
      if (r.lockedUntil <= now && !recent) this.byAddress.delete(address);
    }
  }
}

/** One key per peer: IPv4-mapped IPv6 as plain IPv4, IPv6 in lower case. */
function key(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}
