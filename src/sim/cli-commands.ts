/**
 * The CLI commands `Action: Command` can run on the simulated PBX, with Asterisk 22's output
 * formats (capture 05, 10b): core show version/channels/calls/uptime, manager show connected,
 * dialplan show, module reload, channel request hangup. Anything else is answered like
 * Asterisk answers an unknown command, including its "core show help" suggestion.
 */
import { stateDesc, type SimChannel } from './channels.js';
import { DIALPLAN_SHOW_TEST } from './dialplan.js';
import { reload } from './event-shapes.js';
import type { SimulatedPbx } from './simulated-pbx.js';
import type { SimSession } from './sim-session.js';

export interface CliResult {
  /** false: Asterisk's "No such command" (the response is `Response: Error`). */
  readonly ok: boolean;
  readonly lines: readonly string[];
  /** Work to do after the response is written (hang-ups, the Reload event). */
  readonly after?: () => void;
}

export interface CliContext {
  readonly pbx: SimulatedPbx;
  readonly session: SimSession;
  readonly sessions: readonly SimSession[];
}

/** Known commands as word lists (for the "core show help …" suggestion). */
const KNOWN: readonly string[][] = [
  'core show version',
  'core show channels',
  'core show channel',
  'core show calls',
  'core show uptime',
  'core show settings',
  'core show help',
  'core reload',
  'core restart now',
  'core stop now',
  'manager show connected',
  'manager show commands',
  'manager show settings',
  'module reload',
  'module load',
  'module unload',
  'module show',
  'dialplan show',
  'dialplan reload',
  'channel request hangup',
  'pjsip show endpoints',
  'pjsip show channels',
  'database show',
  'logger reload',
  'sip show peers',
  'queue show',
  'bridge show all',
  'cdr show status',
].map((c) => c.split(' '));

function pad(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width) : text + ' '.repeat(width - text.length);
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Asterisk's uptime wording: `1 hour, 2 minutes, 5 seconds`. */
export function uptimeText(totalSeconds: number): string {
  let s = Math.max(0, Math.floor(totalSeconds));
  const parts: string[] = [];
  const units: Array<[number, string, string]> = [
    [365 * 86400, 'year', 'years'],
    [7 * 86400, 'week', 'weeks'],
    [86400, 'day', 'days'],
    [3600, 'hour', 'hours'],
    [60, 'minute', 'minutes'],
  ];
  for (const [size, one, many] of units) {
    const n = Math.floor(s / size);
    if (n > 0) parts.push(plural(n, one, many));
    s %= size;
  }
  if (s > 0 || parts.length === 0) parts.push(plural(s, 'second', 'seconds'));
  return parts.join(', ');
}

/**
 * The suggestion after "type 'core show help": words while all but the last match a known
 * command's start, plus the first word that breaks that (as Asterisk's find_best does).
 */
function bestHelp(words: readonly string[]): string {
  let known = 0;
  while (known < words.length && KNOWN.some((k) => words.slice(0, known + 1).every((w, i) => k[i] === w))) known++;
  return words.slice(0, Math.min(words.length, known + 2)).join(' ');
}

function channelRow(ch: SimChannel): string {
  const location = `${ch.exten}@${ch.context}:${ch.priority}`;
  const app = ch.app === '' ? '(None)' : `${ch.app}(${ch.appData})`;
  return pad(ch.name, 64) + ' ' + pad(location, 32) + ' ' + pad(stateDesc(ch.state), 7) + ' ' + pad(app, 30);
}

function conciseRow(ch: SimChannel, nowMs: number): string {
  const cid = ch.cidNum === '<unknown>' ? '' : ch.cidNum;
  const secs = Math.max(0, Math.floor((nowMs - ch.createdMs) / 1000));
  return [
    ch.name, ch.context, ch.exten, ch.priority, stateDesc(ch.state), ch.app, ch.appData, cid, ch.accountCode, '', 3, secs,
    ch.bridge?.id ?? '', ch.uniqueid,
  ].join('!');
}

function showChannels(ctx: CliContext, mode: string): string[] {
  const { channels } = ctx.pbx;
  const list = channels.newestFirst();
  const now = Date.now();
  if (mode === 'concise') return list.map((ch) => conciseRow(ch, now));
  const lines: string[] = [];
  if (mode !== 'count') {
    lines.push(pad('Channel', 64) + ' ' + pad('Location', 32) + ' ' + pad('State', 7) + ' ' + pad('Application(Data)', 30));
    for (const ch of list) lines.push(channelRow(ch));
  }
  lines.push(plural(list.length, 'active channel', 'active channels'));
  lines.push(plural(channels.activeCalls, 'active call', 'active calls'));
  lines.push(plural(channels.processedCalls, 'call processed', 'calls processed'));
  return lines;
}

function managerConnected(ctx: CliContext): string[] {
  const now = Date.now();
  const row = (cols: string[], widths: number[]): string =>
    '  ' + cols.map((c, i) => pad(c, widths[i]!)).join('  ');
  const widths = [15, 55, 10, 10, 8, 8, 10, 10];
  const lines = [row(['Username', 'IP Address', 'Start', 'Elapsed', 'FileDes', 'HttpCnt', 'ReadPerms', 'WritePerms'], widths)];
  let n = 0;
  for (const s of ctx.sessions) {
    if (!s.authenticated) continue;
    n++;
    lines.push(
      row(
        [
          s.username,
          s.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
          String(Math.floor(s.startedMs / 1000)),
          String(Math.floor((now - s.startedMs) / 1000)),
          String(14 + n),
          '0',
          String(s.readPerm),
          String(s.writePerm),
        ],
        widths,
      ),
    );
  }
  lines.push(`${n} users connected.`);
  return lines;
}

/** Runs one CLI command line. */
export function runCli(ctx: CliContext, command: string): CliResult {
  const words = command.trim().split(/\s+/).filter((w) => w !== '');
  const line = words.join(' ');
  const { pbx } = ctx;
  const now = Date.now();
  if (line === 'core show version') {
    return {
      ok: true,
      lines: [`Asterisk ${pbx.options.asteriskVersion} built by root @ vm on a x86_64 running Linux on 2026-11-23 15:58:29 UTC`],
    };
  }
  if (line === 'core show channels' || line === 'core show channels concise' || line === 'core show channels count') {
    return { ok: true, lines: showChannels(ctx, words[3] ?? '') };
  }
  if (line === 'core show calls') {
    return {
      ok: true,
      lines: [
        plural(pbx.channels.activeCalls, 'active call', 'active calls'),
        plural(pbx.channels.processedCalls, 'call processed', 'calls processed'),
      ],
    };
  }
  if (line === 'core show uptime' || line === 'core show uptime seconds') {
    const up = (now - pbx.startedMs) / 1000;
    const rl = (now - pbx.reloadedMs) / 1000;
    if (words[3] === 'seconds') return { ok: true, lines: [`System uptime: ${Math.floor(up)}`, `Last reload: ${Math.floor(rl)}`] };
    return { ok: true, lines: [`System uptime: ${uptimeText(up)}`, `Last reload: ${uptimeText(rl)}`] };
  }
  if (line === 'manager show connected') return { ok: true, lines: managerConnected(ctx) };
  if (line === 'dialplan show test' || line === 'dialplan show') return { ok: true, lines: DIALPLAN_SHOW_TEST };
  if (words[0] === 'module' && words[1] === 'reload' && words.length === 3) {
    const module = words[2]!;
    return {
      ok: true,
      lines: [`Module '${module}' reloaded successfully.`],
      after: () => {
        pbx.reloadedMs = Date.now();
        pbx.emit(reload(module));
      },
    };
  }
  if (words[0] === 'channel' && words[1] === 'request' && words[2] === 'hangup' && words.length === 4) {
    const which = words[3]!;
    const targets = which === 'all' ? pbx.channels.newestFirst() : [pbx.channels.get(which)].filter((c) => c !== undefined);
    if (targets.length === 0) return { ok: true, lines: [`${which} is not a known channel`] };
    return {
      ok: true,
      lines: targets.map((ch) => `Requested Hangup on channel '${ch.name}'`),
      after: () => {
        for (const ch of targets) ch.owner?.hangupChannel(ch, 16);
      },
    };
  }
  return {
    ok: false,
    lines: [`No such command '${command}' (type 'core show help ${bestHelp(words)}' for other possible commands)`],
  };
}
