/**
 * Who may log in: the one check behind raw AMI Login, HTTP Basic and AJAM Login. In order:
 * the address's and the user name's lockout, the user, the user's address ACL, the secret
 * (plain, scrypt hash or MD5 challenge). Every failure counts towards both lockouts
 * (login-guard.ts), credentials that cannot even be read included (`malformed`). Every failure looks the same to the client ("Authentication failed", as
 * Asterisk answers); the reason is for the log only, and never contains a secret.
 */
import { toWire } from '../ami/message.js';
import type { ProxyConfig, UserConfig } from '../config/index.js';
import { md5KeyMatches, SecretCheck } from '../clients/shared/credentials.js';
import { compileAcl, type Acl } from './acl.js';
import { LoginGuard, type LockScope } from './login-guard.js';

export interface LoginRequest {
  readonly username: string | undefined;
  /** The plain secret sent (Secret header, HTTP Basic). */
  readonly secret?: string;
  /** An MD5 challenge login: the challenge the session handed out and the Key sent. */
  readonly md5?: { readonly challenge: string | undefined; readonly key: string | undefined };
  /** The client's IP address as its socket reports it. */
  readonly address: string | undefined;
}

export type LoginResult =
  | { readonly ok: true; readonly user: UserConfig }
  | {
    readonly ok: false;
    readonly reason: string;
    /** What this failure locked out (the address, or the user name), if it locked anything. */
    readonly lockedOut: LockScope | undefined;
  };

interface UserEntry {
  readonly user: UserConfig;
  readonly acl: Acl;
  readonly secret: SecretCheck;
}

export class Authenticator {
  private users = new Map<string, UserEntry>();
  private readonly guard: LoginGuard;

  constructor(config: ProxyConfig, private readonly clock: () => number = Date.now) {
    this.guard = new LoginGuard(guardSettings(config));
    this.configure(config);
  }

  /**
   * Takes the users and limits of a (re)loaded config. Each user's secret check starts anew,
   * but for a secret_hash left as it was, whose verified secret is kept (no new scrypt).
   */
  configure(config: ProxyConfig): void {
    const users = new Map<string, UserEntry>();
    for (const user of config.users) {
      const key = toWire(user.name).toLowerCase();
      users.set(key, { user, acl: compileAcl(user.permit, user.deny), secret: new SecretCheck(user).keepFrom(this.users.get(key)?.secret) });
    }
    this.users = users;
    this.guard.configure(guardSettings(config));
  }

  findUser(username: string): UserConfig | undefined {
    return this.users.get(username.toLowerCase())?.user;
  }

  /** Whether the user's permit/deny (as configured now) admits a client's address. */
  addressAllowed(user: UserConfig, address: string | undefined): boolean {
    const entry = this.users.get(toWire(user.name).toLowerCase());
    return entry !== undefined && entry.acl.allows(address);
  }

  /** Until when an address is locked out, if it is. */
  lockedUntil(address: string | undefined): number | undefined {
    return address === undefined ? undefined : this.guard.lockedUntil(address, this.clock());
  }

  async login(req: LoginRequest): Promise<LoginResult> {
    return this.check(req);
  }

  /**
   * The login check, answered at once when it needs no scrypt (a plain secret, a secret_hash
   * whose secret was verified before, any refusal before the secret), else as a promise.
   */
  check(req: LoginRequest): LoginResult | Promise<LoginResult> {
    const address = req.address ?? '?';
    const fail = (reason: string): LoginResult => ({ ok: false, reason, lockedOut: this.guard.failed(address, req.username, this.clock()) });
    const lock = this.guard.blocked(address, req.username, this.clock());
    if (lock !== undefined) {
      const reason = lock.scope === 'address' ? 'address locked out after repeated failed logins' : 'user locked out after repeated failed logins';
      return { ok: false, reason, lockedOut: undefined };
    }
    const entry = req.username === undefined ? undefined : this.users.get(req.username.toLowerCase());
    if (entry === undefined) return fail(req.username === undefined ? 'no Username' : 'unknown user');
    const { user, acl } = entry;
    if (!acl.allows(req.address)) return fail('address not permitted for this user (permit/deny)');
    const finish = (ok: boolean): LoginResult => {
      if (!ok) return fail(req.md5 !== undefined ? 'MD5 key does not match' : 'secret does not match');
      // The user may have been removed by a reload while scrypt ran.
      if (this.users.get(toWire(user.name).toLowerCase())?.user !== user) return fail('user changed by a reload while its secret was checked');
      this.guard.succeeded(address, req.username!, this.clock());
      return { ok: true, user };
    };
    if (req.md5 !== undefined) {
      if (user.secret === undefined) return fail('MD5 login needs a plain secret; this user has only secret_hash');
      return finish(req.md5.challenge !== undefined && req.md5.key !== undefined && md5KeyMatches(user, req.md5.challenge, req.md5.key));
    }
    if (req.secret === undefined) return finish(false);
    const ok = entry.secret.matches(req.secret);
    return typeof ok === 'boolean' ? finish(ok) : ok.then(finish);
  }

  /**
   * Credentials that could not be read (a malformed or unsupported Authorization header): a
   * failed login under no user name, counted towards the address's lockout like any other.
   */
  malformed(address: string | undefined, reason: string): LoginResult {
    const at = address ?? '?';
    if (this.guard.blocked(at, undefined, this.clock()) !== undefined) {
      return { ok: false, reason: `${reason}; address locked out after repeated failed logins`, lockedOut: undefined };
    }
    return { ok: false, reason, lockedOut: this.guard.failed(at, undefined, this.clock()) };
  }

  sweep(): void {
    this.guard.sweep(this.clock());
  }
}

/**
 * How much longer to hold a failed login's answer so that it goes out `delayMs` after the check
 * began, however long the check itself took: an unknown user is refused at once, a secret_hash
 * only after scrypt, and the answer's timing must not tell them apart.
 */
export function remainingFailDelay(delayMs: number, checkStartedMs: number, now = Date.now()): number {
  return Math.max(0, delayMs - Math.max(0, now - checkStartedMs));
}

function guardSettings(config: ProxyConfig) {
  const g = config.general;
  return {
    failures: g.lockoutFailures,
    userFailures: g.lockoutUserFailures,
    windowMs: g.lockoutWindow * 1000,
    lockoutMs: g.lockoutTime * 1000,
  };
}
