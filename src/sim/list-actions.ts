/**
 * The EventList actions built from the live channel table (CoreShowChannels, Status,
 * BridgeList, Hangup by regex) and Hangup itself, with the shapes of capture 04.
 */
import type { ActionContext } from './action-context.js';
import { error, namedChannel, response, success } from './action-context.js';
import * as ev from './event-shapes.js';


/**
 * Sends an EventList: the start response, the items, the Complete event. In one write, so
 * nothing interleaves; with listItemDelayMs the session is blocked while items trickle out.
 */
export function sendList(ctx: ActionContext, startMessage: string, items: readonly string[], complete: string): void {
  const { session, id } = ctx;
  const start = response('Success', id, 'EventList: start', 'Message: ' + startMessage);
  const delay = ctx.pbx.options.listItemDelayMs;
  if (delay <= 0) {
    session.send(start + items.join('') + complete);
    return;
  }
  session.send(start);
  session.block();
  let i = 0;
  const nextItem = (): void => {
    if (i < items.length) {
      session.writeRaw(items[i++]!);
      session.timer(delay, nextItem);
    } else {
      session.writeRaw(complete);
      session.unblock();
    }
  };
  session.timer(delay, nextItem);
}

export function coreShowChannels(ctx: ActionContext): void {
  const now = Date.now();
  const items = ctx.pbx.channels.newestFirst().map((ch) => ev.coreShowChannel(ch, ctx.id, now));
  sendList(ctx, 'Channels will follow', items, ev.listComplete('CoreShowChannelsComplete', ctx.id, items.length));
}

export function status(ctx: ActionContext): void {
  const ch = namedChannel(ctx);
  if (ch === undefined) {
    ctx.session.send(error(ctx.id, 'No such channel'));
    return;
  }
  const now = Date.now();
  const list = ch === null ? ctx.pbx.channels.newestFirst() : [ch];
  const items = list.map((c) => ev.statusItem(c, ctx.id, now));
  sendList(
    ctx,
    'Channel status will follow',
    items,
    ev.listComplete('StatusComplete', ctx.id, items.length, `Items: ${items.length}\r\n`),
  );
}

export function bridgeList(ctx: ActionContext): void {
  const seen = new Set<string>();
  const items: string[] = [];
  for (const ch of ctx.pbx.channels.newestFirst()) {
    const b = ch.bridge;
    if (b === null || seen.has(b.id)) continue;
    seen.add(b.id);
    items.push(ev.bridgeListItem(b, ctx.id));
  }
  sendList(ctx, 'Bridge listing will follow', items, ev.listComplete('BridgeListComplete', ctx.id, items.length));
}

export function hangup(ctx: ActionContext): void {
  const { pbx, session, id } = ctx;
  const name = ctx.header('Channel');
  if (name === undefined || name === '') {
    session.send(error(id, 'No channel specified'));
    return;
  }
  const rawCause = Number.parseInt(ctx.header('Cause') ?? '', 10);
  const cause = Number.isFinite(rawCause) && rawCause > 0 ? rawCause : 16;
  if (name.length >= 2 && name.startsWith('/') && name.endsWith('/')) {
    let re: RegExp;
    try {
      re = new RegExp(name.slice(1, -1));
    } catch {
      session.send(error(id, 'Invalid regex'));
      return;
    }
    const targets = pbx.channels.newestFirst().filter((ch) => re.test(ch.name));
    sendList(
      ctx,
      'Channels hung up will follow',
      targets.map((ch) => ev.channelHungup(ch.name, id)),
      ev.listComplete('ChannelsHungupListComplete', id, targets.length),
    );
    for (const ch of targets) ch.owner?.hangupChannel(ch, cause);
    return;
  }
  const ch = pbx.channels.get(name);
  if (ch === undefined) {
    session.send(error(id, 'No such channel'));
    return;
  }
  session.send(success(id, 'Channel Hungup'));
  ch.owner?.hangupChannel(ch, cause);
}
