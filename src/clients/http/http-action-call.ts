/**
 * One HTTP request's action, as the hub sees it: an ActionOwner that collects the parts of the
 * answer — the response, every EventList item up to the `…Complete` event, or the whole Command
 * output — and hands them over once, when the last part comes. After that (or after the HTTP
 * client went away, or the request timed out) it is closed: the hub delivers it nothing more.
 */
import type { AmiMessage } from '../../ami/message.js';
import type { UserConfig } from '../../config/index.js';
import type { Failure } from '../../router/action-router.js';
import { nextOwnerId, type ActionOwner } from '../shared/action-owner.js';
import type { AnswerSlot } from '../shared/answer-order.js';

export type CallDone = (parts: readonly AmiMessage[], failure: Failure | undefined) => void;


export class HttpActionCall implements ActionOwner {
  readonly id = nextOwnerId();
  readonly slot: AnswerSlot = { seq: 0 };
  /** The PBX the action went to, once the hub chose it. */
  server: string | undefined;
  private parts: AmiMessage[] = [];
  private closed = false;

  constructor(
    readonly user: UserConfig,
    private done: CallDone,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get defaultServer(): string | undefined {
    return this.user.servers[0];
  }

  mayUseServer(name: string): boolean {
    return this.user.servers.includes(name);
  }

  answer(_slot: AnswerSlot, msg: AmiMessage, final: boolean, failure?: Failure): void {
    if (this.closed) return;
    this.parts.push(msg);
    if (!final) return;
    const { parts, done } = this.close();
    done(parts, failure);
  }

  assignServer(_slot: AnswerSlot, server: string): void {
    this.server = server;
  }

  /** Events that carry the ActionID outside the answer (an OriginateResponse, a UserEvent): not part of an HTTP answer. */
  send(_msg: AmiMessage): void {}

  /** The answer so far, and no more parts taken: the request timed out or its client went away. */
  abandon(): readonly AmiMessage[] {
    return this.close().parts;
  }

  /**
   * Closed for good. The router keeps routing late events of the action to this call for a
   * while (see ActionRouter's linger), so it lets go of the answer and of the request its
   * callback holds: thousands of finished HTTP requests a second must not stay alive that long.
   */
  private close(): { parts: AmiMessage[]; done: CallDone } {
    const taken = { parts: this.parts, done: this.done };
    this.closed = true;
    this.parts = [];
    this.done = () => {};
    return taken;
  }
}
