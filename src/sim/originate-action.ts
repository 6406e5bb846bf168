/**
 * `Action: Originate`: its checks and error texts (capture 07d), asynchronous (answered at
 * once, outcome as an OriginateResponse event to every session allowed `call` events) or
 * synchronous (the session blocks until the call answers or fails, capture 14).
 */
import { getHeaders, type AmiMessage } from '../ami/message.js';
import { error, success, type ActionContext } from './action-context.js';
import type { OriginateRequest, OriginateTarget } from './call-engine.js';
import { UNKNOWN, type OriginTracker, type SimChannel } from './channels.js';
import * as ev from './event-shapes.js';
import { isTrue } from './permissions.js';

/** `"Name" <num>`, `Name <num>`, `<num>` or a bare number. */
export function parseCallerId(text: string): { num: string; name: string } {
  const m = /^\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*$/.exec(text);
  if (m !== null) return { name: (m[1] ?? m[2] ?? '').trim(), num: m[3]!.trim() };
  const t = text.trim();
  return /^[0-9+*#\-() ]+$/.test(t) ? { name: '', num: t } : { name: t, num: '' };
}

function variables(msg: AmiMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const v of getHeaders(msg, 'Variable')) {
    for (const part of v.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) out.push([part.slice(0, eq), part.slice(eq + 1)]);
    }
  }
  return out;
}

export function originate(ctx: ActionContext): void {
  const { pbx, session, id } = ctx;
  const channel = ctx.header('Channel') ?? '';
  if (channel === '') {
    session.send(error(id, 'Channel not specified'));
    return;
  }
  const app = ctx.header('Application') ?? '';
  const exten = ctx.header('Exten') ?? '';
  const context = ctx.header('Context') ?? '';
  const priorityText = ctx.header('Priority') ?? '';
  const priority = Number.parseInt(priorityText, 10);
  if (priorityText !== '' && !Number.isFinite(priority)) {
    session.send(error(id, 'Invalid priority'));
    return;
  }
  const timeoutText = ctx.header('Timeout') ?? '';
  const timeout = Number.parseInt(timeoutText, 10);
  if (timeoutText !== '' && (!Number.isFinite(timeout) || timeout < 0)) {
    session.send(error(id, 'Invalid timeout'));
    return;
  }
  if (!channel.includes('/')) {
    session.send(error(id, 'Invalid channel'));
    return;
  }
  if (app === '' && exten !== '' && (context === '' || priorityText === '')) {
    session.send(error(id, "Originate with 'Exten' requires 'Context' and 'Priority'"));
    return;
  }
  const target: OriginateTarget =
    app !== ''
      ? { app, data: ctx.header('Data') ?? '' }
      : { context: context || 'default', exten: exten || 's', priority: Number.isFinite(priority) ? priority : 1 };
  const cidText = ctx.header('CallerID');
  const callerId = cidText === undefined || cidText === '' ? undefined : parseCallerId(cidText);
  const req: OriginateRequest = {
    channel,
    target,
    timeoutMs: timeoutText === '' ? 30_000 : timeout,
    callerId,
    variables: variables(ctx.msg),
    channelId: ctx.header('ChannelId'),
    otherChannelId: ctx.header('OtherChannelId'),
    account: ctx.header('Account'),
  };
  const async = isTrue(ctx.header('Async'));
  const tracker: OriginTracker = {
    settled: false,
    settle(ok: boolean, reason: number, ch: SimChannel | null): void {
      if (tracker.settled) return;
      tracker.settled = true;
      if (!async) {
        session.send(ok ? success(id, 'Originate successfully queued') : error(id, 'Originate failed'));
        session.unblock();
        return;
      }
      pbx.emit(
        ev.originateResponse({
          actionId: id,
          success: ok,
          channel: ch?.name ?? channel,
          target: 'app' in target ? { app: target.app, data: target.data } : { context: target.context, exten: target.exten },
          reason,
          uniqueid: ch?.uniqueid ?? UNKNOWN,
          cidNum: ch?.cidNum ?? (callerId?.num || UNKNOWN),
          cidName: ch?.cidName ?? (callerId?.name || UNKNOWN),
        }),
      );
    },
  };
  if (async) session.send(success(id, 'Originate successfully queued'));
  else session.block();
  pbx.engine.originate(req, tracker);
}
