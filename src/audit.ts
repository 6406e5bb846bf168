/**
 * The audit trail: one log line per action a client sends, whatever answered it (a PBX,
 * amiplex itself, a refusal): who (user, address), where (server), what (action name) and
 * the result (Response, and Message when it is an error). Never the action's other headers,
 * so never a secret. Turned off with `audit = no`.
 */
import { getHeader, type AmiMessage } from './ami/message.js';
import type { Logger } from './log.js';

export interface AuditEntry {
  readonly action: string;
  readonly actionId: string | undefined;
  readonly started: number;
  server?: string;
  /** The user it acted as; for a Login, the Username it gave. */
  user?: string;
  result?: string;
  message?: string;
  /** The client had gone away before the answer came. */
  disconnected?: boolean;
}

export function startAudit(action: AmiMessage, now = Date.now()): AuditEntry {
  return { action: getHeader(action, 'Action') ?? '', actionId: getHeader(action, 'ActionID'), started: now };
}

/** Takes the result from the first part of the answer that has a Response header. */
export function noteAnswer(entry: AuditEntry, msg: AmiMessage): void {
  if (entry.result !== undefined) return;
  const result = getHeader(msg, 'Response');
  if (result === undefined) return;
  entry.result = result;
  if (result.toLowerCase() === 'error') entry.message = getHeader(msg, 'Message');
}

export function writeAudit(log: Logger, entry: AuditEntry, remote: string, via: 'ami' | 'http' | 'websocket', now = Date.now()): void {
  log.info(
    {
      audit: via,
      user: entry.user,
      remote,
      server: entry.server,
      action: entry.action.slice(0, 100),
      result: entry.result ?? 'none',
      ...(entry.message === undefined ? {} : { message: entry.message.slice(0, 200) }),
      ...(entry.disconnected ? { disconnected: true } : {}),
      ms: now - entry.started,
    },
    'action',
  );
}

/**
 * The audit entries of one client's actions not fully answered yet, by their answer slot: each
 * written once, with the last part of its answer.
 */
export class PendingAudits {
  private readonly entries = new Map<number, AuditEntry>();

  constructor(
    private readonly log: Logger,
    private readonly via: 'ami' | 'websocket',
  ) {}

  /** An action took slot `seq`; `user` acts (for a Login, the Username it gave). */
  start(seq: number, action: AmiMessage, user: string | undefined): void {
    const entry = startAudit(action);
    entry.user = user;
    this.entries.set(seq, entry);
  }

  /** The action of slot `seq` went to PBX `server`. */
  server(seq: number, server: string): void {
    const entry = this.entries.get(seq);
    if (entry !== undefined) entry.server = server;
  }

  /** A part of the answer of slot `seq`; the line is written with the last one. */
  answer(seq: number, msg: AmiMessage, final: boolean, who: { readonly user: string | undefined; readonly remote: string; readonly gone: boolean }): void {
    const entry = this.entries.get(seq);
    if (entry === undefined) return;
    noteAnswer(entry, msg);
    if (!final) return;
    this.entries.delete(seq);
    entry.user ??= who.user;
    if (who.gone) entry.disconnected = true;
    writeAudit(this.log, entry, who.remote, this.via);
  }
}
