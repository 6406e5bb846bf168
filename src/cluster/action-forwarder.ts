/**
 * Actions for PBXes held by another node. The asking node sends the action (as its client wrote
 * it, ActionID included, after the user's policy) to the holder's action subject, with a reply
 * subject of its own for that one action; the holder registers it with that PBX's ActionID
 * router like any client's — a RemoteOwner stands for the asking client — and streams every
 * message of the answer (response, list items, Complete, OriginateResponse…) to the reply
 * subject, in order, the client's ActionID already restored by the router. Two clients on two
 * nodes using the same ActionID never meet: each action has its own router entry and its own
 * reply subject.
 *
 * Nothing is left hanging: an action whose holder is gone (no responders), whose holder changed,
 * or that NATS cannot carry any more is answered at once with an error naming the server; one
 * whose holder stays silent is answered with a timeout error.
 */
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { actionIdOf, type AmiMessage } from '../ami/message.js';
import { answerFrom, isProxyMessage, proxyMessage } from '../ami/origin.js';
import type { ActionOwner } from '../clients/shared/action-owner.js';
import type { AnswerSlot } from '../clients/shared/answer-order.js';
import type { UserConfig } from '../config/index.js';
import type { Hub, ServerSlot, Ticket } from '../hub.js';
import type { Logger } from '../log.js';
import { errorResponse, type Failure } from '../router/action-router.js';
import { PayloadReader, toPayload } from './ami-payload.js';
import type { ClusterNames } from './names.js';

const H_SERVER = 'Amiplex-Server';
const H_TIMEOUT = 'Amiplex-Timeout';
const H_CLIENT = 'Amiplex-Client';
const H_NODE = 'Amiplex-Node';
/** On an answer message: the last one of the answer. */
const H_FINAL = 'Amiplex-Final';
/** On an answer message: an event outside the answer (OriginateResponse, UserEvent). */
const H_EVENT = 'Amiplex-Event';
/** On an answer message: amiplex answered instead of the PBX (the Failure). */
const H_FAILURE = 'Amiplex-Failure';
/** On an answer message: amiplex wrote it, not the PBX (see ami/origin.ts). */
const H_PROXY = 'Amiplex-Proxy';
/** Instead of an answer: why the holder could not send the action. */
const H_REFUSED = 'Amiplex-Refused';

/** After the holder's own timeout, how long the asking node still waits before answering one itself. */
const TIMEOUT_GRACE_MS = 2000;
/** How long a finished action still takes events carrying its ActionID (an OriginateResponse can come late). */
const LINGER_MS = 120_000;
const SWEEP_MS = 500;
/** Pending actions older than this make the asking node check that their holder is still there. */
const CHECK_AFTER_MS = 1000;

interface Forwarded {
  readonly ticket: Ticket;
  readonly server: string;
  readonly node: string;
  readonly clientActionId: string | undefined;
  readonly sentAt: number;
  deadline: number;
  done: boolean;
}

/** On the holder: the asking client, as the PBX's router sees it. */
export class RemoteOwner implements ActionOwner {
  readonly user: UserConfig | undefined = undefined;
  readonly isClosed = false;
  readonly defaultServer: string | undefined = undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly reply: string,
    /** The asking node and its client's id there (for events that must skip that client). */
    readonly node: string,
    readonly id: number,
  ) {}

  mayUseServer(): boolean {
    return true;
  }

  assignServer(): void {}

  answer(_slot: AnswerSlot, msg: AmiMessage, final: boolean, failure?: Failure): void {
    const h = natsHeaders();
    if (final) h.set(H_FINAL, '1');
    if (failure !== undefined) h.set(H_FAILURE, failure);
    if (isProxyMessage(msg)) h.set(H_PROXY, '1');
    this.nc.publish(this.reply, toPayload(msg), { headers: h });
  }

  send(msg: AmiMessage): void {
    const h = natsHeaders();
    h.set(H_EVENT, '1');
    this.nc.publish(this.reply, toPayload(msg), { headers: h });
  }
}

const NO_SLOT: AnswerSlot = { seq: -1 };

export class ActionForwarder {
  private nc: NatsConnection | undefined;
  /** False while NATS is unreachable: an action would wait in the client's buffer and reach the holder late, after its client was told it timed out. */
  private connected = false;
  private readonly pending = new Map<string, Forwarded>();
  private seq = 0;
  private readonly reader = new PayloadReader();
  private subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly checking = new Set<string>();
  private readonly replyPrefix: string;

  constructor(
    private readonly hub: Hub,
    private readonly names: ClusterNames,
    private readonly node: string,
    instance: string,
    private readonly log: Logger,
  ) {
    this.replyPrefix = names.replies(node, instance);
  }

  /** Actions waiting for (the rest of) their answer from another node. */
  get size(): number {
    let n = 0;
    for (const f of this.pending.values()) if (!f.done) n++;
    return n;
  }

  /** NATS is reachable: listen for answers, for actions other nodes send here, and for pings. */
  start(nc: NatsConnection): void {
    this.nc = nc;
    this.connected = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [
      nc.subscribe(`${this.replyPrefix}.*`, { callback: (err, msg) => (err ? undefined : this.onAnswer(msg)) }),
      nc.subscribe(this.names.actions(this.node), { callback: (err, msg) => (err ? undefined : this.onAction(nc, msg)) }),
      nc.subscribe(this.names.ping(this.node), { callback: (err, msg) => void (err ? undefined : msg.respond()) }),
    ];
    this.timer ??= setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.failWhere(() => true, 'amiplex is shutting down');
  }

  // ---- the asking node ------------------------------------------------------------------------

  forward(slot: ServerSlot, ticket: Ticket, action: AmiMessage, timeoutMs: number): void {
    const node = slot.remote?.node;
    const clientActionId = actionIdOf(action);
    const nc = this.nc;
    if (node === undefined || nc === undefined || !this.connected || nc.isClosed()) {
      ticket.client.answer(ticket.slot, errorResponse(clientActionId, `Server ${slot.name} is not reachable: NATS is not connected`), true, 'unavailable');
      return;
    }
    const id = String(++this.seq);
    const now = Date.now();
    this.pending.set(id, { ticket, server: slot.name, node, clientActionId, sentAt: now, deadline: now + timeoutMs + TIMEOUT_GRACE_MS, done: false });
    const h = natsHeaders();
    h.set(H_SERVER, slot.name);
    h.set(H_TIMEOUT, String(timeoutMs));
    h.set(H_CLIENT, String(ticket.client.id));
    h.set(H_NODE, this.node);
    nc.publish(this.names.actions(node), toPayload(action), { reply: `${this.replyPrefix}.${id}`, headers: h });
  }

  private onAnswer(msg: Msg): void {
    const id = msg.subject.slice(this.replyPrefix.length + 1);
    const f = this.pending.get(id);
    if (f === undefined) return;
    const { client, slot } = f.ticket;
    if (msg.headers?.hasError) {
      // NATS itself answered: no node listens on the holder's subject any more.
      if (!f.done) this.fail(id, f, `Server ${f.server} is not reachable: its holder, node ${f.node}, is gone`);
      return;
    }
    const refused = msg.headers?.get(H_REFUSED);
    if (refused) {
      this.fail(id, f, refused);
      return;
    }
    const read = this.reader.read(msg.data);
    if (read === undefined) return;
    const message = answerFrom(client, msg.headers?.get(H_PROXY) === '1' ? proxyMessage(read) : read, f.server);
    if (msg.headers?.get(H_EVENT) === '1') {
      if (!client.isClosed) client.send(message, f.server);
      return;
    }
    if (f.done) return;
    const final = msg.headers?.get(H_FINAL) === '1';
    const failure = (msg.headers?.get(H_FAILURE) || undefined) as Failure | undefined;
    client.answer(slot, message, final, failure);
    if (final) {
      f.done = true;
      f.deadline = Date.now() + LINGER_MS;
    } else {
      // An EventList that keeps flowing is never cut off.
      f.deadline = Date.now() + (f.deadline - f.sentAt);
    }
  }

  private fail(id: string, f: Forwarded, reason: string, failure: Failure = 'unavailable'): void {
    this.pending.delete(id);
    if (f.done) return;
    f.ticket.client.answer(f.ticket.slot, errorResponse(f.clientActionId, reason), true, failure);
  }

  private failWhere(match: (f: Forwarded) => boolean, reason: (f: Forwarded) => string): void;
  private failWhere(match: (f: Forwarded) => boolean, reason: string): void;
  private failWhere(match: (f: Forwarded) => boolean, reason: string | ((f: Forwarded) => string)): void {
    for (const [id, f] of this.pending) {
      if (!match(f)) continue;
      this.fail(id, f, typeof reason === 'string' ? reason : reason(f));
    }
  }

  /** The PBX is held by another node now (or none): what its old holder had is answered with an error. */
  holderChanged(server: string, node: string | undefined): void {
    this.failWhere(
      (f) => f.server === server && f.node !== node && !f.done,
      (f) => `Server ${f.server} disconnected: node ${f.node} no longer holds it`,
    );
  }

  /** NATS is unreachable: no answer can come. */
  disconnected(): void {
    this.connected = false;
    this.failWhere((f) => !f.done, (f) => `Server ${f.server} disconnected: NATS is unreachable from node ${this.node}`);
  }

  private sweep(now: number): void {
    const stale = new Set<string>();
    for (const [id, f] of this.pending) {
      if (now < f.deadline) {
        if (!f.done && now - f.sentAt > CHECK_AFTER_MS) stale.add(f.node);
        continue;
      }
      if (f.done) this.pending.delete(id);
      else this.fail(id, f, `Timeout: server ${f.server} did not answer through node ${f.node} within ${Math.round((f.deadline - f.sentAt) / 100) / 10} s`, 'timeout');
    }
    for (const node of stale) void this.check(node);
  }

  /** Whether a node with actions pending is still there: NATS says "no responders" at once when it is gone. */
  private async check(node: string): Promise<void> {
    const nc = this.nc;
    if (nc === undefined || this.checking.has(node)) return;
    this.checking.add(node);
    try {
      await nc.request(this.names.ping(node), undefined, { timeout: 2000 });
    } catch (err) {
      if ((err as Error).message.includes('no responders')) {
        this.log.warn({ node }, 'cluster: a node with actions in flight is gone: they are answered with an error');
        this.failWhere((f) => f.node === node && !f.done, (f) => `Server ${f.server} disconnected: node ${node}, which held it, is gone`);
      }
    } finally {
      this.checking.delete(node);
    }
  }

  // ---- the holder ------------------------------------------------------------------------------

  private onAction(nc: NatsConnection, msg: Msg): void {
    const reply = msg.reply;
    if (!reply) return;
    const server = msg.headers?.get(H_SERVER) ?? '';
    const timeoutMs = Number(msg.headers?.get(H_TIMEOUT)) || 30_000;
    const owner = new RemoteOwner(nc, reply, msg.headers?.get(H_NODE) ?? '', Number(msg.headers?.get(H_CLIENT)) || 0);
    const action = this.reader.read(msg.data);
    const refused = action === undefined ? 'amiplex could not read the forwarded action' : this.hub.forwarded(server, { client: owner, slot: NO_SLOT }, action, timeoutMs);
    if (refused === undefined) return;
    const h = natsHeaders();
    h.set(H_REFUSED, refused);
    nc.publish(reply, undefined, { headers: h });
  }
}
