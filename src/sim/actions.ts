/**
 * The manager actions of the simulated PBX and the dispatch in front of them: missing action,
 * login required, write permission, unknown action — each answered with Asterisk's words.
 * Every response puts the ActionID second, and leaves it out when the action had none.
 */
import { createHash, randomInt } from 'node:crypto';
import { getHeader } from '../ami/message.js';
import { ACTION_CATALOG, catalogEntry, catalogLine } from './action-catalog.js';
import {
  actionIdIn,
  error,
  idLine,
  namedChannel,
  response,
  success,
  type ActionContext,
  type Handler,
} from './action-context.js';
import { runCli } from './cli-commands.js';
import * as ev from './event-shapes.js';
import { bridgeList, coreShowChannels, hangup, status } from './list-actions.js';
import { originate } from './originate-action.js';
import { eventMaskFrom, mayRun, PERM } from './permissions.js';
import type { SimChannel } from './channels.js';
import type { SessionInput, SimSession } from './sim-session.js';
import type { SimulatedPbx } from './simulated-pbx.js';

// ---------------------------------------------------------------- dispatch

const PRE_LOGIN = new Set(['login', 'logoff', 'challenge']);

export function dispatch(pbx: SimulatedPbx, session: SimSession, input: SessionInput): void {
  if (input.kind === 'blank') {
    session.send(error(undefined, 'Missing action in request'));
    return;
  }
  if (input.kind === 'error') {
    session.send(error(actionIdIn(input.headers), input.text));
    return;
  }
  const msg = input.msg;
  const id = actionIdIn(msg.headers);
  const action = getHeader(msg, 'Action');
  if (action === undefined || action === '') {
    session.send(error(id, 'Missing action in request'));
    return;
  }
  pbx.stats.actions++;
  const key = action.toLowerCase();
  if (!session.authenticated && !PRE_LOGIN.has(key)) {
    session.send(error(id, 'Permission denied'));
    return;
  }
  const entry = catalogEntry(action);
  const handler = HANDLERS.get(key);
  if (entry === undefined && handler === undefined) {
    session.send(error(id, `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`));
    return;
  }
  if (entry !== undefined && !mayRun(session.writePerm, entry.authority)) {
    session.send(error(id, 'Permission denied'));
    return;
  }
  if (handler === undefined) {
    // Listed by ListCommands but not simulated.
    session.send(error(id, `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`));
    return;
  }
  handler({ pbx, session, msg, id, header: (name) => getHeader(msg, name) });
}

// ---------------------------------------------------------------- login

function login(ctx: ActionContext): void {
  const { pbx, session, id } = ctx;
  if (session.authenticated) {
    session.send(success(id, 'Already authenticated'));
    return;
  }
  const username = ctx.header('Username') ?? '';
  const user = username === '' ? undefined : pbx.options.users.get(username.toLowerCase());
  let ok = false;
  if (user !== undefined) {
    if ((ctx.header('AuthType') ?? '').toLowerCase() === 'md5') {
      const key = ctx.header('Key') ?? '';
      const expected = createHash('md5').update(session.challenge + user.secret, 'latin1').digest('hex');
      ok = session.challenge !== '' && key.toLowerCase() === expected;
    } else {
      const secret = ctx.header('Secret');
      ok = secret !== undefined && secret !== '' && secret === user.secret;
    }
  }
  if (!ok || user === undefined) {
    // Asterisk sleeps a second, answers, then drops the connection.
    session.block();
    session.timer(pbx.options.authFailDelayMs, () => {
      session.send(error(id, 'Authentication failed'));
      session.end();
    });
    return;
  }
  session.username = user.username;
  session.readPerm = user.readPerm;
  session.writePerm = user.writePerm;
  const mask = eventMaskFrom(ctx.header('Events'));
  if (mask !== undefined) session.eventMask = mask;
  session.loggedIn();
  pbx.stats.logins++;
  session.send(success(id, 'Authentication accepted'));
  const now = Date.now();
  if ((session.eventMask & PERM.system) !== 0 && (session.readPerm & PERM.system) !== 0) {
    session.writeRaw(ev.fullyBooted(Math.floor((now - pbx.startedMs) / 1000), Math.floor((now - pbx.reloadedMs) / 1000)));
  }
  const sock = session.socket;
  const ip = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/, '');
  pbx.emit(
    ev.successfulAuth({
      nowMs: now,
      sessionStartMs: session.startedMs,
      username: user.username,
      sessionId: session.sessionId,
      local: `IPV4/TCP/${ip(sock.localAddress)}/${sock.localPort ?? 0}`,
      remote: `IPV4/TCP/${ip(sock.remoteAddress)}/${sock.remotePort ?? 0}`,
    }),
  );
}

function challenge(ctx: ActionContext): void {
  const { session, id } = ctx;
  if ((ctx.header('AuthType') ?? '').toLowerCase() !== 'md5') {
    session.send(error(id, 'Must specify AuthType'));
    return;
  }
  if (session.challenge === '') session.challenge = String(randomInt(100_000_000, 2_147_483_647));
  session.send(response('Success', id, 'Challenge: ' + session.challenge));
}

function logoff(ctx: ActionContext): void {
  ctx.session.send(response('Goodbye', ctx.id, 'Message: Thanks for all the fish.'));
  ctx.session.end();
}

// ---------------------------------------------------------------- simple actions

function ping(ctx: ActionContext): void {
  const t = performance.timeOrigin + performance.now();
  const sec = Math.floor(t / 1000);
  const usec = Math.floor((t - sec * 1000) * 1000);
  ctx.session.send(response('Success', ctx.id, 'Ping: Pong', `Timestamp: ${sec}.${String(usec).padStart(6, '0')}`));
}

function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function coreSettings(ctx: ActionContext): void {
  const o = ctx.pbx.options;
  ctx.session.send(
    response(
      'Success',
      ctx.id,
      'AMIversion: ' + o.amiVersion,
      'AsteriskVersion: ' + o.asteriskVersion,
      'SystemName: ',
      'CoreMaxCalls: 0',
      'CoreMaxLoadAvg: 0.000000',
      'CoreRunUser: ',
      'CoreRunGroup: ',
      'CoreMaxFilehandles: 0',
      'CoreRealTimeEnabled: No',
      'CoreCDRenabled: Yes',
      'CoreHTTPenabled: Yes',
      'SoundsSearchCustomDir: No',
    ),
  );
}

function coreStatus(ctx: ActionContext): void {
  const { pbx } = ctx;
  ctx.session.send(
    response(
      'Success',
      ctx.id,
      'CoreStartupDate: ' + utcDate(pbx.startedMs),
      'CoreStartupTime: ' + utcTime(pbx.startedMs),
      'CoreReloadDate: ' + utcDate(pbx.reloadedMs),
      'CoreReloadTime: ' + utcTime(pbx.reloadedMs),
      'CoreCurrentCalls: ' + pbx.channels.activeCalls,
      'CoreProcessedCalls: ' + pbx.channels.processedCalls,
    ),
  );
}

/**
 * The variable of a Getvar/Setvar and the channel it lives on (null: a global), or undefined
 * after answering the error Asterisk gives for a missing variable or an unknown channel.
 */
function variableTarget(ctx: ActionContext): { variable: string; ch: SimChannel | null } | undefined {
  const variable = ctx.header('Variable');
  if (variable === undefined || variable === '') {
    ctx.session.send(error(ctx.id, 'No variable specified'));
    return undefined;
  }
  const ch = namedChannel(ctx);
  if (ch === undefined) {
    ctx.session.send(error(ctx.id, 'No such channel'));
    return undefined;
  }
  return { variable, ch };
}

function getvar(ctx: ActionContext): void {
  const target = variableTarget(ctx);
  if (!target) return;
  const { variable, ch } = target;
  const value = (ch === null ? undefined : ch.vars.get(variable)) ?? ctx.pbx.globals.get(variable) ?? '';
  ctx.session.send(response('Success', ctx.id, 'Variable: ' + variable, 'Value: ' + value));
}

function setvar(ctx: ActionContext): void {
  const target = variableTarget(ctx);
  if (!target) return;
  const { variable, ch } = target;
  const value = ctx.header('Value') ?? '';
  if (ch === null) ctx.pbx.globals.set(variable, value);
  else ch.vars.set(variable, value);
  ctx.session.send(success(ctx.id, 'Variable Set'));
  if (ch !== null) ctx.pbx.emit(ev.varSet(ch, variable, value));
}

function events(ctx: ActionContext): void {
  const { session } = ctx;
  const raw = ctx.header('EventMask');
  // Asterisk answers nothing at all when EventMask is missing or empty.
  if (raw === undefined || raw.trim() === '') return;
  const mask = eventMaskFrom(raw);
  if (mask !== undefined) session.eventMask = mask;
  session.send(response('Success', ctx.id, session.eventMask === 0 ? 'Events: Off' : 'Events: On'));
}

function listCommands(ctx: ActionContext): void {
  const lines = ACTION_CATALOG.filter((e) => mayRun(ctx.session.writePerm, e.authority)).map(catalogLine);
  ctx.session.send(response('Success', ctx.id, ...lines));
}

function command(ctx: ActionContext): void {
  const cmd = ctx.header('Command');
  if (cmd === undefined || cmd === '') {
    ctx.session.send(error(ctx.id, 'No command provided'));
    return;
  }
  const r = runCli({ pbx: ctx.pbx, session: ctx.session, sessions: ctx.pbx.sessionList() }, cmd);
  ctx.session.send(
    response(r.ok ? 'Success' : 'Error', ctx.id, 'Message: Command output follows', ...r.lines.map((l) => 'Output: ' + l)),
  );
  r.after?.();
}

function userEvent(ctx: ActionContext): void {
  const name = ctx.header('UserEvent');
  if (name === undefined || name === '') {
    ctx.session.send(error(ctx.id, 'UserEvent header missing'));
    return;
  }
  const rest = ctx.msg.headers.filter(([n]) => {
    const l = n.toLowerCase();
    return l !== 'action' && l !== 'userevent';
  });
  ctx.session.send(success(ctx.id, 'Event Sent'));
  ctx.pbx.emit(ev.actionUserEvent(name, rest));
}

function waitEvent(ctx: ActionContext): void {
  const { session, id } = ctx;
  const raw = Number.parseInt(ctx.header('Timeout') ?? '', 10);
  const timeoutS = Number.isFinite(raw) && raw >= 0 ? raw : null;
  session.waitForEvent(timeoutS === null ? null : timeoutS * 1000, (held) => {
    session.send(success(id, 'Waiting for Event completed.'));
    for (const b of held) session.writeRaw(b.toString('latin1'));
    session.writeRaw('Event: WaitEventComplete\r\n' + idLine(id) + '\r\n');
    session.unblock();
  });
}

function filter(ctx: ActionContext): void {
  const { session, id } = ctx;
  if ((ctx.header('Operation') ?? '').toLowerCase() !== 'add') {
    session.send(error(id, 'Unknown operation'));
    return;
  }
  let text = ctx.header('Filter') ?? '';
  const exclude = text.startsWith('!');
  if (exclude) text = text.slice(1);
  let re: RegExp;
  try {
    re = new RegExp(text);
  } catch {
    session.send(error(id, 'Filter did not compile.  Check the syntax of the filter given.'));
    return;
  }
  session.filters ??= { include: [], exclude: [] };
  (exclude ? session.filters.exclude : session.filters.include).push(re);
  session.send(success(id, 'Success'));
}

// ---------------------------------------------------------------- registry

const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['login', login],
  ['challenge', challenge],
  ['logoff', logoff],
  ['ping', ping],
  ['coresettings', coreSettings],
  ['corestatus', coreStatus],
  ['getvar', getvar],
  ['setvar', setvar],
  ['events', events],
  ['listcommands', listCommands],
  ['command', command],
  ['coreshowchannels', coreShowChannels],
  ['status', status],
  ['bridgelist', bridgeList],
  ['hangup', hangup],
  ['originate', originate],
  ['userevent', userEvent],
  ['waitevent', waitEvent],
  ['filter', filter],
]);

/** Names of the actions the simulator implements (the rest of ListCommands answers "unknown"). */
export const SIMULATED_ACTIONS: readonly string[] = [...HANDLERS.keys()];
