/**
 * One lease in the cluster's key-value bucket, as this node sees it: pure decision logic, no
 * NATS, the clock passed in (ms of a monotonic clock).
 *
 * The bucket keeps each key for `ttl` after its last write (a bucket-wide max age: NATS 2.9
 * has no per-key TTL), so a lease lives as long as its holder keeps rewriting it. Every write
 * is a compare-and-set on the key's revision, so of two nodes that try at once only one wins.
 *
 * Safety: a write that NATS acknowledged was stored after it was sent, so the lease lasts at
 * least until `sent + ttl`. The holder counts from the moment it SENT its last acknowledged
 * write and gives up at three quarters of the TTL (`deadline`): its AMI session is dropped
 * before any other node can find the key gone. Renewals go out every third of the TTL, so two
 * may fail before the holder gives up.
 */

/** The value of a lease key: who holds it. */
export interface HolderRecord {
  /** The holding node; '' once released. */
  readonly node: string;
  /** The holding process (a node restarted under the same name is another instance). */
  readonly instance: string;
  /** Set on release: the node it is handed over to. */
  readonly to?: string;
}

export interface LeaseTiming {
  readonly ttlMs: number;
  /** Renew this long after the last acknowledged write was sent. */
  readonly renewMs: number;
  /** Give up (drop the session) this long after the last acknowledged write was sent. */
  readonly giveUpMs: number;
  /** A free lease the preferred node did not take is open to any node after this long. */
  readonly claimGraceMs: number;
  /** A failed write is tried again after this long. */
  readonly retryMs: number;
}

export function leaseTiming(ttlMs: number): LeaseTiming {
  return { ttlMs, renewMs: ttlMs / 3, giveUpMs: (ttlMs * 3) / 4, claimGraceMs: ttlMs / 3, retryMs: ttlMs / 10 };
}

/** What this node should do about a lease now. */
export type LeaseStep =
  /** Write the record: create the key when `revision` is 0, else compare-and-set on `revision`. */
  | { readonly kind: 'claim'; readonly revision: number }
  | { readonly kind: 'renew'; readonly revision: number }
  /** Drop the AMI session at once: the lease may be gone or taken. */
  | { readonly kind: 'drop'; readonly reason: string }
  /** Stop the AMI session cleanly, then write the release (`released()`), for `to` to take it. */
  | { readonly kind: 'handover'; readonly to: string };

export interface StepContext {
  /** Whether this node may take free leases now (it is registered and has looked around). */
  readonly mayClaim: boolean;
  /** The node that should hold this lease (rendezvous among the live nodes that may), if any. */
  readonly preferred: string | undefined;
  /** Whether a held lease should be handed to `preferred` (it has been in the cluster long enough). */
  readonly handOver: boolean;
  /**
   * From when `preferred` may claim (it joined a third of a TTL earlier): any other node waits a
   * grace period after that too, so a node that joined a little earlier does not take a lease
   * meant for one just joining, only to hand it over a TTL later.
   */
  readonly preferredFrom?: number;
}

export type LeaseState = 'idle' | 'claiming' | 'held' | 'handing-over';

interface Seen {
  readonly record: HolderRecord | undefined;
  /** 0 when the key was never written or was deleted. */
  readonly revision: number;
  readonly at: number;
}

export class Lease {
  private _state: LeaseState = 'idle';
  private seen: Seen | undefined;
  private revision = 0;
  private lastWriteSent = 0;
  private validUntil = 0;
  private inFlight = false;
  private retryAt = 0;
  private dirty = false;
  /** Counts the writes sent: an answer to an older one (one that outlived a drop) changes nothing. */
  private writes = 0;

  constructor(
    readonly key: string,
    readonly node: string,
    readonly instance: string,
    private readonly timing: LeaseTiming,
    /** When this node started watching (a key never seen counts as free since then). */
    private readonly since: number,
  ) {}

  get state(): LeaseState {
    return this._state;
  }

  /** Whether the AMI session may run: held (or being handed over) and not past the deadline. */
  holding(now: number): boolean {
    return (this._state === 'held' || this._state === 'handing-over') && now < this.validUntil;
  }

  /** When the holder must have dropped its session (meaningful while holding). */
  get deadline(): number {
    return this.validUntil;
  }

  /** Who holds it as last seen in the bucket ('' or undefined: nobody). */
  get holder(): HolderRecord | undefined {
    return this.seen?.record;
  }

  /** The holder's status changed: renew at the next step, so other nodes learn it. */
  markDirty(): void {
    this.dirty = true;
  }

  /**
   * What the bucket says now (a watch update or a read). Returns a drop when another instance
   * wrote the key while this node held it: the lease had run out.
   */
  observe(record: HolderRecord | undefined, revision: number, now: number): LeaseStep | undefined {
    this.seen = { record, revision, at: now };
    if (this._state !== 'held' && this._state !== 'handing-over') return undefined;
    if (record === undefined || record.instance === this.instance) return undefined;
    this._state = 'idle';
    this.inFlight = false;
    return { kind: 'drop', reason: record.node === '' ? 'its lease was released by another node' : `node ${record.node} took its lease` };
  }

  /** Whether nobody holds it as far as this node can tell: never written, released, gone, or past its TTL since last seen. */
  isFree(now: number): boolean {
    const seen = this.seen;
    if (seen === undefined || seen.record === undefined || seen.record.node === '') return true;
    return seen.record.instance === this.instance || now >= seen.at + this.timing.ttlMs;
  }

  /** When another node's hold runs out as far as this node can tell (a TTL after it was last seen), if another node holds it. */
  get othersExpiry(): number | undefined {
    const seen = this.seen;
    if (seen === undefined || seen.record === undefined || seen.record.node === '' || seen.record.instance === this.instance) return undefined;
    return seen.at + this.timing.ttlMs;
  }

  /** Since when it has been free (meaningful when isFree). */
  private freeSince(): number {
    const seen = this.seen;
    if (seen === undefined) return this.since;
    if (seen.record === undefined || seen.record.node === '') return seen.at;
    return seen.at + this.timing.ttlMs;
  }

  step(now: number, ctx: StepContext): LeaseStep | undefined {
    switch (this._state) {
      case 'idle':
        return this.maybeClaim(now, ctx);
      case 'claiming':
        return undefined;
      case 'held':
        if (now >= this.validUntil) return this.lose('the lease could not be renewed in time');
        if (ctx.handOver && ctx.preferred !== undefined && ctx.preferred !== this.node && !this.inFlight) {
          this._state = 'handing-over';
          return { kind: 'handover', to: ctx.preferred };
        }
        if (this.inFlight || now < this.retryAt) return undefined;
        if (!this.dirty && now < this.lastWriteSent + this.timing.renewMs) return undefined;
        this.dirty = false;
        this.inFlight = true;
        this.writes++;
        return { kind: 'renew', revision: this.revision };
      case 'handing-over':
        if (now >= this.validUntil) return this.lose('the lease ran out while it was being handed over');
        return undefined;
    }
  }

  private maybeClaim(now: number, ctx: StepContext): LeaseStep | undefined {
    if (!ctx.mayClaim || this.inFlight || now < this.retryAt || !this.isFree(now)) return undefined;
    const record = this.seen?.record;
    const ours = record !== undefined && record.instance === this.instance && record.node === this.node;
    const meant = record?.to !== undefined && record.node === '' ? record.to === this.node : ctx.preferred === this.node;
    if (!ours && !meant && now < Math.max(this.freeSince(), ctx.preferredFrom ?? 0) + this.timing.claimGraceMs) return undefined;
    // A record still there (ours, or released) is replaced on its revision; one presumed gone is created anew.
    const present = record !== undefined && (ours || record.node === '');
    this._state = 'claiming';
    this.inFlight = true;
    this.writes++;
    return { kind: 'claim', revision: present ? this.seen!.revision : 0 };
  }

  private lose(reason: string): LeaseStep {
    this._state = 'idle';
    this.inFlight = false;
    return { kind: 'drop', reason };
  }

  /** The write the last claim or renew step asked for: pass it back to written() or writeFailed(). */
  get write(): number {
    return this.writes;
  }

  /** A claim or renewal (`write`) was stored as `revision`; `sent` is when it was sent. */
  written(revision: number, sent: number, write = this.writes): void {
    if (write !== this.writes) return;
    this.inFlight = false;
    if (this._state === 'idle') return; // dropped meanwhile: the next claim starts over
    if (this._state === 'claiming') this._state = 'held';
    this.revision = revision;
    this.lastWriteSent = sent;
    this.validUntil = sent + this.timing.giveUpMs;
    this.seen = { record: { node: this.node, instance: this.instance }, revision, at: sent };
  }

  /**
   * A claim or renewal (`write`) failed: `conflict` when the revision did not match (`current`
   * is the key as read afterwards: record undefined when it is gone), else NATS did not answer. A renewal whose revision moved
   * because an earlier write of ours went through unacknowledged keeps the lease; any other
   * conflict loses it (a drop).
   */
  writeFailed(now: number, conflict: boolean, current?: { record: HolderRecord | undefined; revision: number }, write = this.writes): LeaseStep | undefined {
    if (write !== this.writes) return undefined;
    this.inFlight = false;
    this.retryAt = now + this.timing.retryMs;
    if (current !== undefined) this.seen = { ...current, at: now };
    if (this._state === 'claiming') {
      this._state = 'idle';
      return undefined;
    }
    if (this._state !== 'held' && this._state !== 'handing-over') return undefined;
    if (!conflict) return undefined;
    if (current?.record?.instance === this.instance && current.record.node === this.node) {
      this.revision = current.revision;
      return undefined;
    }
    return this.lose('its lease was taken (a renewal found another revision)');
  }

  /** The session is stopped and the lease released (or given up): this node holds it no more. */
  released(to: string | undefined, revision: number, now: number): void {
    this._state = 'idle';
    this.inFlight = false;
    this.validUntil = 0;
    this.seen = { record: { node: '', instance: this.instance, ...(to === undefined ? {} : { to }) }, revision, at: now };
  }

  /** The revision of the held record (for the release write). */
  get heldRevision(): number {
    return this.revision;
  }
}
