/**
 * Whoever sends actions to a PBX through the hub and receives their answers: a raw-AMI client
 * session, a WebSocket, or one HTTP request. The hub and the routers know owners only through this.
 */
import type { AmiMessage } from '../../ami/message.js';
import type { UserConfig } from '../../config/index.js';
import type { FormatModule } from '../../formats.js';
import type { Failure } from '../../router/action-router.js';
import type { AnswerSlot } from './answer-order.js';

let nextId = 1;

/**
 * The id of a new owner: one sequence for every kind, so an id names one owner of this process
 * (a cluster's event stream names the sender an OriginateResponse must skip by it).
 */
export function nextOwnerId(): number {
  return nextId++;
}

export interface ActionOwner {
  readonly id: number;
  /** The proxy user it acts as (set once logged in). */
  readonly user: UserConfig | undefined;
  readonly isClosed: boolean;
  /** The user's default PBX: the first of its servers. */
  readonly defaultServer: string | undefined;
  mayUseServer(name: string): boolean;
  /**
   * Part of the answer to the action that took `slot` (`final` for its last part); `failure`
   * when amiplex answered an error itself instead of the PBX.
   */
  answer(slot: AnswerSlot, msg: AmiMessage, final: boolean, failure?: Failure): void;
  /** The action that took `slot` goes to PBX `server`: its answer is ordered among that PBX's. */
  assignServer(slot: AnswerSlot, server: string): void;
  /** An event carrying this owner's ActionID (OriginateResponse, UserEvent) from PBX `server`, outside answer order. */
  send(msg: AmiMessage, server?: string): void;
  /** Changes the output format (ProxySetFormat); absent where the format is chosen per request. */
  setFormat?(format: FormatModule): void;
}
