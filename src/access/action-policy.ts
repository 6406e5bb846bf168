/**
 * What a user may send: one policy per user, compiled once from its [user] section, applied to
 * every action before it is forwarded. Pure. A refusal carries a reason for the log; the
 * client gets `Permission denied`, as Asterisk answers an action a user may not run. Checks,
 * in order:
 *
 * 1. actions / deny_actions: the Action name must match `actions` (absent = all) and must not
 *    match `deny_actions` (`*` globs, case ignored). Login, Logoff, Challenge and Ping are never
 *    refused by these lists: a session cannot work without them.
 * 2. write: the action's classes as Asterisk 22 lists them (src/ami/action-classes.ts). Allowed
 *    when it needs no class or shares one with `write` (absent = all). An action the table does
 *    not know (a module the captured Asterisk had not loaded) is allowed only when `write` is
 *    absent or `all`: amiplex cannot tell what it needs, so a user with limited classes may not
 *    run it.
 *    amiplex's own Proxy* actions need no class. Originate of an application is also held to
 *    Asterisk's own rule (is_originate_app_permitted): applications such as System, Exec or AGI,
 *    and data using SHELL(), DB() and similar functions need the system class — Asterisk checks
 *    that against amiplex's PBX login, so amiplex checks it against the user.
 * 3. channels (device scoping, src/filters/device-scope.ts): for the actions that act on a
 *    channel, every channel-naming header must name a channel of the user's devices (Originate:
 *    dial one of them, `PJSIP/1001` or `PJSIP/1001/sip:…`; queue member actions: the member
 *    interface must be one of them); a header the action needs for that is required. A Channel
 *    given as a uniqueid or a regular expression (Hangup's `/pattern/`) names no device and is
 *    refused. Status, CoreShowChannels and other read actions are not channel actions.
 * 4. context: every action that sends a call into the dialplan sends it into this context:
 *    the Context of Originate, Redirect, BlindTransfer and Atxfer is set to it (replaced where it
 *    stands, or added), as is Redirect's ExtraContext when given; Exten and Priority are kept.
 *    An Originate of an Application is refused (it would run outside the dialplan).
 */
import { actionClassEntry } from '../ami/action-classes.js';
import { classListBits, EVENT_CLASSES } from '../ami/event-classes.js';
import { fromWire, getHeader, getHeaders, headerIndex, toWire, withHeader, type AmiHeader, type AmiMessage } from '../ami/message.js';
import type { UserConfig } from '../config/types.js';
import { DeviceSet } from '../filters/device-scope.js';
import { compileNameGlobs } from '../filters/name-glob.js';

export type PolicyResult = { readonly ok: true; readonly action: AmiMessage } | { readonly ok: false; readonly reason: string };

export type ActionPolicy = (action: AmiMessage) => PolicyResult;

/**
 * The actions that send a call into the dialplan, by lower-cased name, with the context
 * headers a forced context replaces: `always` ones are set (added when absent), the others
 * only when given.
 */
const DIALPLAN_ACTIONS = new Map<string, { readonly always: readonly string[]; readonly given: readonly string[] }>([
  ['originate', { always: ['Context'], given: [] }],
  ['redirect', { always: ['Context'], given: ['ExtraContext'] }],
  ['blindtransfer', { always: ['Context'], given: [] }],
  ['atxfer', { always: ['Context'], given: [] }],
]);

/** Actions the actions / deny_actions lists never refuse. */
const ALWAYS = new Set(['login', 'logoff', 'challenge', 'ping']);

/** A channel-naming header of a channel action: what it must name, and whether the action must carry it. */
interface ChannelHeader {
  readonly header: string;
  /** `channel`: a channel of a device; `device`: a device or a dial string of one. */
  readonly names: 'channel' | 'device';
  readonly required: boolean;
}

const ch = (header: string, required = true): ChannelHeader => ({ header, names: 'channel', required });
const dev = (header: string, required = true): ChannelHeader => ({ header, names: 'device', required });

/**
 * The channel actions, by lower-cased name. From Asterisk 22's catalog, plus Monitor and its
 * friends (removed in Asterisk 21, still on older PBXes) and PJSIPHangup.
 */
interface ChannelAction {
  readonly headers: readonly ChannelHeader[];
  /** At least one of the headers is needed (none is required on its own). */
  readonly anyOf?: boolean;
}

const CHANNEL_ACTIONS: ReadonlyMap<string, ChannelAction> = new Map<string, ChannelAction>([
  ['originate', { headers: [dev('Channel')] }],
  ['hangup', { headers: [ch('Channel')] }],
  ['pjsiphangup', { headers: [ch('Channel')] }],
  ['redirect', { headers: [ch('Channel'), ch('ExtraChannel', false)] }],
  ['atxfer', { headers: [ch('Channel')] }],
  ['blindtransfer', { headers: [ch('Channel')] }],
  ['cancelatxfer', { headers: [ch('Channel')] }],
  ['park', { headers: [ch('Channel'), ch('TimeoutChannel', false), ch('AnnounceChannel', false)] }],
  ['bridge', { headers: [ch('Channel1'), ch('Channel2')] }],
  ['getvar', { headers: [ch('Channel', false)] }],
  ['setvar', { headers: [ch('Channel', false)] }],
  ['aocmessage', { headers: [ch('Channel', false), ch('ChannelPrefix', false)], anyOf: true }],
  ['confbridgekick', { headers: [ch('Channel')] }],
  ['confbridgemute', { headers: [ch('Channel')] }],
  ['confbridgeunmute', { headers: [ch('Channel')] }],
  ['confbridgesetsinglevideosrc', { headers: [ch('Channel')] }],
  ['queueadd', { headers: [dev('Interface'), dev('StateInterface', false)] }],
  ['queueremove', { headers: [dev('Interface')] }],
  ['queuepause', { headers: [dev('Interface')] }],
  ['queuepenalty', { headers: [dev('Interface')] }],
  ['queuememberringinuse', { headers: [dev('Interface')] }],
  ...[
    'absolutetimeout', 'agi', 'controlplayback', 'localoptimizeaway', 'mixmonitor', 'mixmonitormute',
    'stopmixmonitor', 'muteaudio', 'playdtmf', 'playmf', 'sendflash', 'sendtext',
    'monitor', 'stopmonitor', 'pausemonitor', 'unpausemonitor', 'changemonitor',
  ].map((name): [string, ChannelAction] => [name, { headers: [ch('Channel')] }]),
]);

/** Asterisk's originate_app_permissions: the first entry whose test matches decides. */
const SYSTEM = EVENT_CLASSES.system;
const ORIGINATE_APP_RULES: ReadonlyArray<{ readonly what: string; readonly needs: number; readonly test: (app: string, data: string) => boolean }> = [
  ...['agi', 'dbdeltree', 'exec', 'externalivr', 'mixmonitor', 'originate', 'reload', 'system'].map((s) => ({
    what: `application ${s}`, needs: SYSTEM, test: (app: string) => app.toLowerCase().includes(s),
  })),
  { what: 'Queue with an AGI argument', needs: EVENT_CLASSES.agi | SYSTEM, test: queueWithAgi },
  ...['CURL', 'DB', 'EVAL', 'FILE', 'ODBC', 'REALTIME', 'SHELL'].map((s) => ({
    what: `${s} in Data`, needs: SYSTEM, test: (_app: string, data: string) => data.includes(s),
  })),
];

function queueWithAgi(app: string, data: string): boolean {
  if (!app.toLowerCase().includes('queue') || data === '') return false;
  // Queue(queuename,options,URL,announceoverride,timeout,AGI,…): the sixth argument.
  return (data.split(',')[5] ?? '').trim() !== '';
}

export function compileActionPolicy(user: UserConfig): ActionPolicy {
  const allowed = compileNameGlobs(user.actions);
  const denied = compileNameGlobs(user.denyActions);
  // `write = all` is no limit at all, like an absent write: even actions the table does not know.
  const write = user.write === undefined || user.write.includes('all') ? undefined : classListBits(user.write.join(','));
  const devices = user.channels !== undefined && user.channels.length > 0 ? new DeviceSet(user.channels.map(toWire)) : undefined;
  const context = user.context === undefined ? undefined : toWire(user.context);

  return (action) => {
    const name = getHeader(action, 'Action') ?? '';
    // No name: not for the policy to answer (Asterisk says "Missing action in request").
    if (name === '') return { ok: true, action };
    const lower = name.toLowerCase();
    const shown = fromWire(name);
    if (!ALWAYS.has(lower)) {
      if (allowed !== undefined && !allowed(name)) return { ok: false, reason: `action ${shown} is not in this user's actions list` };
      if (denied !== undefined && denied(name)) return { ok: false, reason: `action ${shown} is in this user's deny_actions list` };
    }
    if (write !== undefined && !lower.startsWith('proxy')) {
      const entry = actionClassEntry(name);
      if (entry === undefined) return { ok: false, reason: `action ${shown} is unknown to amiplex's class table, so a user with limited write classes may not run it` };
      if (entry.authority !== 0 && (entry.authority & write) === 0) {
        return { ok: false, reason: `action ${shown} needs write class ${entry.privilege.replace(/,all$/, '')}; this user has ${user.write!.join(',')}` };
      }
      if (lower === 'originate') {
        const refused = originateAppRefusal(action, write);
        if (refused !== undefined) return { ok: false, reason: refused };
      }
    }
    let result = action;
    if (devices !== undefined) {
      const refused = channelRefusal(lower, shown, action, devices);
      if (refused !== undefined) return { ok: false, reason: refused };
    }
    const dialplan = context === undefined ? undefined : DIALPLAN_ACTIONS.get(lower);
    if (dialplan !== undefined) {
      if (lower === 'originate' && (getHeader(action, 'Application') ?? '') !== '') return { ok: false, reason: 'Originate of an application is not allowed for this user' };
      for (const header of dialplan.always) result = withValue(result, header, context!);
      for (const header of dialplan.given) if (headerIndex(result, header) >= 0) result = withValue(result, header, context!);
    }
    return { ok: true, action: result };
  };
}

function originateAppRefusal(action: AmiMessage, write: number): string | undefined {
  const app = getHeader(action, 'Application') ?? '';
  if (app === '') return undefined;
  const data = getHeader(action, 'Data') ?? '';
  const rule = ORIGINATE_APP_RULES.find((r) => r.test(app, data));
  if (rule === undefined || (rule.needs & write) !== 0) return undefined;
  return `Originate of ${fromWire(app)} (${rule.what}) needs write class system`;
}

function channelRefusal(lower: string, shown: string, action: AmiMessage, devices: DeviceSet): string | undefined {
  const spec = CHANNEL_ACTIONS.get(lower);
  if (spec === undefined) return undefined;
  let given = 0;
  for (const { header, names, required } of spec.headers) {
    const values = getHeaders(action, header).filter((v) => v !== '');
    if (values.length === 0) {
      if (required && !spec.anyOf) return `${shown} without ${header} is not allowed for a user with devices`;
      continue;
    }
    given++;
    for (const value of values) {
      if (names === 'device') {
        if (!devices.isDialString(value)) return `${header} ${fromWire(value)} is not one of this user's devices (${devices.devices.map(fromWire).join(', ')})`;
      } else if (value.length > 1 && value.startsWith('/') && value.endsWith('/')) {
        return `${header} ${fromWire(value)} is a regular expression; a user with devices must name one of its channels`;
      } else if (!devices.ownsChannel(value)) {
        return `${header} ${fromWire(value)} is not a channel of this user's devices (${devices.devices.map(fromWire).join(', ')})`;
      }
    }
  }
  if (spec.anyOf && given === 0) return `${shown} without ${spec.headers.map((h) => h.header).join(' or ')} is not allowed for a user with devices`;
  return undefined;
}

/** The action with `name` set to `value`: the first such header replaced where it stands (others removed), or one appended. */
function withValue(action: AmiMessage, name: string, value: string): AmiMessage {
  const first = headerIndex(action, name);
  if (first < 0) return withHeader(action, name, value);
  const lower = name.toLowerCase();
  const headers: AmiHeader[] = [];
  action.headers.forEach((h, i) => {
    if (i === first) headers.push([h[0], value]);
    else if (h[0].toLowerCase() !== lower) headers.push(h);
  });
  return { headers };
}
