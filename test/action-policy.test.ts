/**
 * What a user may send (src/access/action-policy.ts): action lists, write classes as Asterisk
 * 22 lists them, device scoping of channel actions, and the forced Originate context.
 */
import { describe, expect, it } from 'vitest';

import { ACTION_CLASSES, actionClassEntry } from '../src/ami/action-classes.js';
import { EVENT_CLASSES } from '../src/ami/event-classes.js';
import type { AmiHeader, AmiMessage } from '../src/ami/message.js';
import { compileActionPolicy, type PolicyResult } from '../src/access/action-policy.js';
import { parseConfig, type UserConfig } from '../src/config/index.js';
import { ACTION_CATALOG, catalogEntry } from '../src/sim/action-catalog.js';

const SERVERS = '[server pbx1]\nhost = 10.0.0.1\nusername = a\nsecret = s\n';

function user(...lines: string[]): UserConfig {
  return parseConfig(SERVERS + ['[user u]', 'secret = p', ...lines].join('\n') + '\n', 'proxy.conf').users[0]!;
}

const act = (name: string, ...headers: AmiHeader[]): AmiMessage => ({ headers: [['Action', name], ...headers] });

function refusal(r: PolicyResult): string {
  if (r.ok) throw new Error('the action was allowed');
  return r.reason;
}

describe('the action class table', () => {
  it('is Asterisk 22’s ListCommands, shared with the simulator', () => {
    expect(ACTION_CATALOG).toBe(ACTION_CLASSES);
    expect(catalogEntry('hangup')).toBe(actionClassEntry('Hangup'));
    expect(actionClassEntry('Hangup')?.authority).toBe(EVENT_CLASSES.system | EVENT_CLASSES.call);
    expect(actionClassEntry('Originate')?.authority).toBe(EVENT_CLASSES.originate);
    expect(actionClassEntry('Filter')?.authority).toBe(EVENT_CLASSES.system);
    expect(actionClassEntry('Ping')?.authority).toBe(0);
    expect(actionClassEntry('PJSIPShowEndpoints')).toBeUndefined();
  });
});

describe('no rules', () => {
  it('everything goes through unchanged', () => {
    const policy = compileActionPolicy(user());
    for (const a of [act('Originate', ['Channel', 'PJSIP/9'], ['Application', 'System'], ['Data', 'rm -rf /']), act('Command', ['Command', 'core stop now']), act('Whatever')]) {
      expect(policy(a)).toEqual({ ok: true, action: a });
    }
  });

  it('an action without a name is left for the session to answer', () => {
    const policy = compileActionPolicy(user('actions = Ping'));
    const a: AmiMessage = { headers: [['ActionID', '1']] };
    expect(policy(a)).toEqual({ ok: true, action: a });
  });
});

describe('actions and deny_actions', () => {
  const policy = compileActionPolicy(user('actions = Originate, Core*, Status', 'deny_actions = CoreShowChannelMap'));

  it('"*" globs, case ignored, the whole name', () => {
    expect(policy(act('originate')).ok).toBe(true);
    expect(policy(act('CoreShowChannels')).ok).toBe(true);
    expect(policy(act('Status')).ok).toBe(true);
    expect(refusal(policy(act('StatusX')))).toBe("action StatusX is not in this user's actions list");
    expect(refusal(policy(act('Hangup')))).toBe("action Hangup is not in this user's actions list");
    expect(refusal(policy(act('coreshowchannelmap')))).toBe("action coreshowchannelmap is in this user's deny_actions list");
  });

  it('Login, Logoff, Challenge and Ping are never refused by the lists', () => {
    const strict = compileActionPolicy(user('actions = Originate', 'deny_actions = *'));
    for (const name of ['Login', 'Logoff', 'Challenge', 'Ping', 'ping']) expect(strict(act(name)).ok, name).toBe(true);
    expect(strict(act('Originate')).ok).toBe(false);
    expect(strict(act('Events')).ok).toBe(false);
  });

  it('deny_actions alone', () => {
    const p = compileActionPolicy(user('deny_actions = Command, *Reload'));
    expect(p(act('Command')).ok).toBe(false);
    expect(p(act('QueueReload')).ok).toBe(false);
    expect(p(act('Reload')).ok).toBe(false);
    expect(p(act('ReloadX')).ok).toBe(true);
  });
});

describe('write classes', () => {
  it('an action needing no class, or sharing one with write, is allowed', () => {
    const p = compileActionPolicy(user('write = call'));
    expect(p(act('Hangup', ['Channel', 'PJSIP/1-1'])).ok).toBe(true); // system,call
    expect(p(act('Ping')).ok).toBe(true);
    expect(p(act('Events', ['EventMask', 'off'])).ok).toBe(true);
    expect(refusal(p(act('Originate')))).toBe('action Originate needs write class originate; this user has call');
    expect(refusal(p(act('Command')))).toBe('action Command needs write class command; this user has call');
    expect(refusal(p(act('Filter')))).toBe('action Filter needs write class system; this user has call');
  });

  it('an action the table does not know: only when write is absent or all', () => {
    expect(refusal(compileActionPolicy(user('write = system, call'))(act('PJSIPShowEndpoints')))).toMatch(/unknown to amiplex's class table/);
    expect(compileActionPolicy(user())(act('PJSIPShowEndpoints')).ok).toBe(true);
    expect(compileActionPolicy(user('write = call, all'))(act('PJSIPShowEndpoints')).ok).toBe(true);
  });

  it('write = all allows every listed action', () => {
    const p = compileActionPolicy(user('write = all'));
    for (const e of ACTION_CLASSES) expect(p(act(e.name)).ok, e.name).toBe(true);
  });

  it('amiplex’s own Proxy* actions need no class', () => {
    expect(compileActionPolicy(user('write = call'))(act('ProxyListServers')).ok).toBe(true);
  });

  it('Originate of dangerous applications needs system, as Asterisk’s own check', () => {
    const p = compileActionPolicy(user('write = originate'));
    const orig = (app: string, data = '') => act('Originate', ['Channel', 'PJSIP/1001'], ['Application', app], ['Data', data]);
    for (const app of ['System', 'TrySystem', 'Exec', 'ExecIf', 'AGI', 'EAGI', 'MixMonitor', 'Originate', 'Reload', 'DBdeltree', 'ExternalIVR']) {
      expect(refusal(p(orig(app))), app).toMatch(/needs write class system/);
    }
    expect(p(orig('Wait', '5')).ok).toBe(true);
    expect(p(orig('Dial', 'PJSIP/1002')).ok).toBe(true);
    expect(p(orig('Playback', '${SHELL(id)}')).ok).toBe(false);
    expect(p(orig('Playback', '${DB(a/b)}')).ok).toBe(false);
    expect(p(orig('Playback', 'shell-ish')).ok).toBe(true); // the data check is case-sensitive
    expect(p(orig('Queue', 'support,t,,,60')).ok).toBe(true);
    expect(p(orig('Queue', 'support,t,,,60,myagi')).ok).toBe(false);
    expect(compileActionPolicy(user('write = originate, agi'))(orig('Queue', 'support,t,,,60,myagi')).ok).toBe(true);
    expect(compileActionPolicy(user('write = originate, system'))(orig('System', 'true')).ok).toBe(true);
    expect(p(act('Originate', ['Channel', 'PJSIP/1001'], ['Exten', '100'], ['Context', 'x'], ['Priority', '1'])).ok).toBe(true);
  });
});

describe('channels: channel actions on the user’s devices only', () => {
  const p = compileActionPolicy(user('channels = PJSIP/1001, SIP/1001'));

  it('Originate dials one of the devices', () => {
    for (const ch of ['PJSIP/1001', 'pjsip/1001', 'PJSIP/1001/sip:1001@192.0.2.7:5060', 'SIP/1001']) {
      expect(p(act('Originate', ['Channel', ch], ['Exten', '200'])).ok, ch).toBe(true);
    }
    expect(refusal(p(act('Originate', ['Channel', 'PJSIP/1002'])))).toBe("Channel PJSIP/1002 is not one of this user's devices (PJSIP/1001, SIP/1001)");
    expect(p(act('Originate', ['Channel', 'Local/1001@from-internal'])).ok).toBe(false);
    expect(p(act('Originate', ['Channel', 'PJSIP/1001-00000001'])).ok).toBe(false);
    expect(refusal(p(act('Originate', ['Exten', '200'])))).toBe('Originate without Channel is not allowed for a user with devices');
    expect(p(act('Originate', ['Channel', ''])).ok).toBe(false);
  });

  it('Local channels only when listed', () => {
    const local = compileActionPolicy(user('channels = Local/100@from-internal'));
    expect(local(act('Originate', ['Channel', 'Local/100@from-internal/n'])).ok).toBe(true);
    expect(local(act('Hangup', ['Channel', 'Local/100@from-internal-0000002c;2'])).ok).toBe(true);
    expect(local(act('Hangup', ['Channel', 'Local/100@other-0000002c;2'])).ok).toBe(false);
  });

  it('Hangup: a channel of a device; a regex or a uniqueid names none', () => {
    expect(p(act('Hangup', ['Channel', 'PJSIP/1001-0000000a'])).ok).toBe(true);
    expect(refusal(p(act('Hangup', ['Channel', 'PJSIP/1002-0000000a'])))).toBe("Channel PJSIP/1002-0000000a is not a channel of this user's devices (PJSIP/1001, SIP/1001)");
    expect(refusal(p(act('Hangup', ['Channel', '/PJSIP\\/1001-.*/'])))).toMatch(/is a regular expression/);
    expect(p(act('Hangup', ['Channel', '1795450068.89'])).ok).toBe(false);
    expect(p(act('Hangup', ['Channel', 'PJSIP/1001'])).ok).toBe(false);
    expect(p(act('Hangup')).ok).toBe(false);
  });

  it('every channel-naming header counts, repeated ones too', () => {
    expect(p(act('Redirect', ['Channel', 'PJSIP/1001-00000001'], ['Exten', '1'], ['Context', 'c'], ['Priority', '1'])).ok).toBe(true);
    expect(refusal(p(act('Redirect', ['Channel', 'PJSIP/1001-00000001'], ['ExtraChannel', 'PJSIP/2000-00000002'])))).toMatch(/^ExtraChannel PJSIP\/2000-00000002/);
    expect(p(act('Bridge', ['Channel1', 'PJSIP/1001-00000001'], ['Channel2', 'SIP/1001-00000002'])).ok).toBe(true);
    expect(p(act('Bridge', ['Channel1', 'PJSIP/1001-00000001'], ['Channel2', 'PJSIP/2000-00000002'])).ok).toBe(false);
    expect(p(act('Bridge', ['Channel1', 'PJSIP/1001-00000001'])).ok).toBe(false);
    expect(p(act('Hangup', ['Channel', 'PJSIP/1001-00000001'], ['Channel', 'PJSIP/2000-00000002'])).ok).toBe(false);
    expect(p(act('Park', ['Channel', 'PJSIP/1001-00000001'], ['TimeoutChannel', 'PJSIP/2000-00000002'])).ok).toBe(false);
  });

  it('the other channel actions of the catalog', () => {
    const own = 'PJSIP/1001-00000001';
    const other = 'PJSIP/2000-00000002';
    for (const name of [
      'Atxfer', 'BlindTransfer', 'CancelAtxfer', 'Park', 'PlayDTMF', 'PlayMF', 'SendFlash', 'SendText', 'MixMonitor',
      'StopMixMonitor', 'MixMonitorMute', 'MuteAudio', 'AbsoluteTimeout', 'AGI', 'ControlPlayback', 'LocalOptimizeAway',
      'ConfbridgeKick', 'ConfbridgeMute', 'ConfbridgeUnmute', 'Monitor', 'StopMonitor', 'PJSIPHangup',
    ]) {
      expect(p(act(name, ['Channel', own])).ok, name).toBe(true);
      expect(p(act(name, ['Channel', other])).ok, name).toBe(false);
      expect(p(act(name)).ok, `${name} without Channel`).toBe(false);
    }
    expect(p(act('ConfbridgeKick', ['Conference', '1'], ['Channel', 'all'])).ok).toBe(false);
    expect(p(act('AOCMessage', ['ChannelPrefix', own])).ok).toBe(true);
    expect(p(act('AOCMessage', ['ChannelPrefix', 'PJSIP/'])).ok).toBe(false);
    expect(refusal(p(act('AOCMessage', ['MsgType', 'D'])))).toBe('AOCMessage without Channel or ChannelPrefix is not allowed for a user with devices');
  });

  it('Getvar and Setvar only with a Channel; read actions are not channel actions', () => {
    expect(p(act('Getvar', ['Variable', 'X'])).ok).toBe(true);
    expect(p(act('Setvar', ['Channel', 'PJSIP/1001-00000001'], ['Variable', 'X'], ['Value', '1'])).ok).toBe(true);
    expect(p(act('Setvar', ['Channel', 'PJSIP/2000-00000001'], ['Variable', 'X'], ['Value', '1'])).ok).toBe(false);
    expect(p(act('Status', ['Channel', 'PJSIP/2000-00000001'])).ok).toBe(true);
    expect(p(act('CoreShowChannels')).ok).toBe(true);
  });

  it('queue member actions name one of the devices', () => {
    expect(p(act('QueuePause', ['Interface', 'PJSIP/1001'], ['Paused', 'true'])).ok).toBe(true);
    expect(p(act('QueuePause', ['Interface', 'PJSIP/2000'], ['Paused', 'true'])).ok).toBe(false);
    expect(p(act('QueueAdd', ['Queue', 'q'], ['Interface', 'SIP/1001'], ['StateInterface', 'SIP/2000'])).ok).toBe(false);
    expect(p(act('QueueRemove', ['Queue', 'q'])).ok).toBe(false);
  });
});

describe('context', () => {
  const p = compileActionPolicy(user('context = from-internal'));

  it('replaces Originate’s Context where it stands, keeping Exten and Priority', () => {
    const r = p(act('Originate', ['Channel', 'PJSIP/1001'], ['Context', 'admin'], ['Exten', '100'], ['Priority', '1'], ['ActionID', 'o1']));
    expect(r).toEqual({ ok: true, action: { headers: [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Context', 'from-internal'], ['Exten', '100'], ['Priority', '1'], ['ActionID', 'o1']] } });
  });

  it('adds it when absent, and drops repeated Context headers', () => {
    expect(p(act('Originate', ['Channel', 'PJSIP/1001'], ['Exten', '100']))).toEqual({
      ok: true, action: { headers: [['Action', 'Originate'], ['Channel', 'PJSIP/1001'], ['Exten', '100'], ['Context', 'from-internal']] },
    });
    const r = p(act('Originate', ['context', 'a'], ['Exten', '100'], ['Context', 'b']));
    expect(r.ok && r.action.headers).toEqual([['Action', 'Originate'], ['context', 'from-internal'], ['Exten', '100']]);
  });

  it('refuses an Originate of an application', () => {
    expect(refusal(p(act('Originate', ['Channel', 'PJSIP/1001'], ['Application', 'Wait'], ['Data', '1'])))).toBe('Originate of an application is not allowed for this user');
    expect(p(act('Originate', ['Channel', 'PJSIP/1001'], ['Application', ''], ['Exten', '1'])).ok).toBe(true);
  });

  it('sends Redirect, BlindTransfer and Atxfer into it too: Context set, ExtraContext replaced when given', () => {
    expect(p(act('Redirect', ['Channel', 'X'], ['Context', 'admin'], ['Exten', '9'], ['Priority', '1']))).toEqual({
      ok: true, action: { headers: [['Action', 'Redirect'], ['Channel', 'X'], ['Context', 'from-internal'], ['Exten', '9'], ['Priority', '1']] },
    });
    expect(p(act('Redirect', ['Channel', 'X'], ['ExtraChannel', 'Y'], ['Exten', '9'], ['ExtraContext', 'admin'], ['ExtraExten', '8']))).toEqual({
      ok: true, action: { headers: [['Action', 'Redirect'], ['Channel', 'X'], ['ExtraChannel', 'Y'], ['Exten', '9'], ['ExtraContext', 'from-internal'], ['ExtraExten', '8'], ['Context', 'from-internal']] },
    });
    expect(p(act('BlindTransfer', ['Channel', 'X'], ['Exten', '9']))).toEqual({
      ok: true, action: { headers: [['Action', 'BlindTransfer'], ['Channel', 'X'], ['Exten', '9'], ['Context', 'from-internal']] },
    });
    const atxfer = p(act('Atxfer', ['Channel', 'X'], ['Exten', '9'], ['Context', 'admin']));
    expect(atxfer.ok && atxfer.action.headers).toEqual([['Action', 'Atxfer'], ['Channel', 'X'], ['Exten', '9'], ['Context', 'from-internal']]);
  });

  it('leaves other actions alone', () => {
    const a = act('Setvar', ['Channel', 'X'], ['Variable', 'Context'], ['Value', 'admin']);
    expect(p(a)).toEqual({ ok: true, action: a });
    const b = act('Hangup', ['Channel', 'X'], ['Context', 'admin']);
    expect(p(b)).toEqual({ ok: true, action: b });
  });

  it('applies after the device check', () => {
    const both = compileActionPolicy(user('channels = PJSIP/1001', 'context = from-internal'));
    expect(both(act('Originate', ['Channel', 'PJSIP/1002'], ['Exten', '1'])).ok).toBe(false);
    const r = both(act('Originate', ['Channel', 'PJSIP/1001'], ['Exten', '1']));
    expect(r.ok && r.action.headers.at(-1)).toEqual(['Context', 'from-internal']);
  });
});
