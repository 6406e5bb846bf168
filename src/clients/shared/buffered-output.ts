/**
 * A client's output as the hub's budget sees it (client_buffer, slow_client_timeout,
 * client_buffer_max per client, client_buffer_total for all together): a raw AMI session, or
 * a WebSocket. The hub sweeps them, adds up what they hold, and sheds the largest when the sum
 * is over the total.
 */
export interface BufferedOutput {
  /** Its owner id (see nextOwnerId). */
  readonly id: number;
  /** Bytes accepted for the client and not yet handed to the kernel. */
  readonly buffered: number;
  /** Called periodically: disconnects the client when over client_buffer for too long; whether it did. */
  checkSlow(now: number): boolean;
  /** Disconnects the client for not reading its output (counted and logged once); `reason` says which limit. */
  dropSlow(reason: string): void;
}
