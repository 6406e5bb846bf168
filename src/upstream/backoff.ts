/**
 * Reconnect delays: exponential from `min`, capped at `max`, with jitter so that many
 * amiplex instances (or many PBXes coming back at once) do not reconnect in lock-step.
 * Pure: the random source is injectable for tests.
 */
export type BackoffStrategy = (attempt: number) => number;

export interface BackoffOptions {
  /** First delay, ms. */
  readonly minMs: number;
  /** Longest delay, ms. */
  readonly maxMs: number;
  /** Returns a number in [0, 1). */
  readonly random?: () => number;
}

/** Delay before reconnect attempt `attempt` (0 for the first): between half and all of min·2^attempt, capped. */
export function exponentialBackoff({ minMs, maxMs, random = Math.random }: BackoffOptions): BackoffStrategy {
  return (attempt) => {
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
    return Math.round(ceiling / 2 + (ceiling / 2) * random());
  };
}
