/**
 * What an event filter looks at: one event on its way to clients, with what the hub already
 * knows about it. `src/clients/shared/outbound.ts` implements it (one Outbound per event, shared by
 * every client), so whatever a filter computes from it (the name, the whole text) is computed
 * at most once per event however many clients look.
 */
import type { AmiMessage } from '../ami/message.js';

export interface EventView {
  /** The event as the PBX sent it: ordered headers, byte strings. */
  readonly message: AmiMessage;
  /** Its classes (src/ami/event-classes.ts): what read permissions are checked against. */
  readonly classBits: number;
  /** The PBX it came from (a [server] name); undefined for an event amiplex makes for all servers. */
  readonly server: string | undefined;
  /** The value of its Event header ('' when it has none). */
  readonly name: string;
  /**
   * The whole event as Asterisk hands it to regexec for a filter without header(): every
   * `Header: value` line with CRLF, then the blank CRLF line that ends it. Computed once.
   */
  text(): string;
}
