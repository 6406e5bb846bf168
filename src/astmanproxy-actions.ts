/**
 * astmanproxy's `ProxyAction:` commands, answered by amiplex as astmanproxy answered them:
 * `ProxyResponse: Success` (or `Failure` / `Error` with a `Message:`) and the fields astmanproxy
 * wrote, plus the client's ActionID when it sent one (astmanproxy wrote none). Each is subject to
 * the user's actions / deny_actions as the action `Proxy<Name>` (`ProxyListSessions`, …), and
 * answered in the client's format as amiplex's own message (`<AsteriskManagerProxyOutput>`).
 *
 * Output formats have astmanproxy's names here (ASTMANPROXY_FORMAT_NAMES): `xml` and `csv` are
 * astmanproxy's shapes, not amiplex's AJAM xml and RFC 4180 csv, as its clients expect.
 */
import { actionIdOf, getHeader, toWire, type AmiHeader, type AmiMessage } from './ami/message.js';
import { proxyMessage } from './ami/origin.js';
import type { ActionOwner } from './clients/shared/action-owner.js';
import type { AnswerSlot } from './clients/shared/answer-order.js';
import type { FormatModule } from './formats.js';
import type { Hub } from './hub.js';

/** How astmanproxy's autofilter filters a client: off, on (its own ActionIDs only, no events), unique. */
export const AUTOFILTER_MODES = ['off', 'on', 'unique'] as const;
export type AutoFilterMode = (typeof AUTOFILTER_MODES)[number];

/** Output formats by the names astmanproxy's clients use, each an amiplex format. */
export const ASTMANPROXY_FORMAT_NAMES: ReadonlyMap<string, string> = new Map([
  ['standard', 'standard'],
  ['xml', 'astmanproxy-xml'],
  ['csv', 'astmanproxy-csv'],
]);

/** The name astmanproxy's answers give an amiplex format: its astmanproxy name, else amiplex's own. */
export function astmanproxyFormatName(format: FormatModule): string {
  for (const [name, amiplex] of ASTMANPROXY_FORMAT_NAMES) if (amiplex === format.name) return name;
  return format.name;
}

/** What a ProxyAction needs to know of the connection it came on, beyond an ActionOwner. */
export interface ProxyActionClient extends ActionOwner {
  /** Changes what the connection receives (SetAutoFilter); absent over HTTP, where there are no events. */
  setAutoFilter?(mode: AutoFilterMode): void;
}

type Handler = (hub: Hub, client: ProxyActionClient, action: AmiMessage, actionId: string | undefined) => AmiMessage;

const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['listiohandlers', listIoHandlers],
  ['listsessions', listSessions],
  ['listservers', listServers],
  ['setoutputformat', setOutputFormat],
  ['setautofilter', setAutoFilter],
  ['addserver', refuseServerChange],
  ['dropserver', refuseServerChange],
]);

/** An answer of amiplex's own: `ProxyResponse: STATUS`, the client's ActionID, the fields. */
export function proxyResponse(status: string, actionId: string | undefined, ...fields: AmiHeader[]): AmiMessage {
  const headers: AmiHeader[] = [['ProxyResponse', status]];
  if (actionId !== undefined) headers.push(['ActionID', actionId]);
  headers.push(...fields);
  return proxyMessage({ headers });
}

/** The ProxyAction a message carries, when it is one (a message with an Action header is an action). */
export function proxyActionName(msg: AmiMessage): string | undefined {
  if (getHeader(msg, 'Action') !== undefined) return undefined;
  const name = getHeader(msg, 'ProxyAction')?.trim();
  return name === undefined || name === '' ? undefined : name;
}

/** The action the user's policy sees for a ProxyAction: `Proxy<Name>`. */
export function policyView(name: string, msg: AmiMessage): AmiMessage {
  return { headers: [['Action', `Proxy${name}`], ...msg.headers] };
}

/** Answers a ProxyAction (Logoff excepted: the connection answers that itself, and closes). */
export function astmanproxyAction(hub: Hub, client: ProxyActionClient, msg: AmiMessage, name: string, slot: AnswerSlot): void {
  const actionId = actionIdOf(msg);
  const handler = HANDLERS.get(name.toLowerCase());
  const answer = handler ? handler(hub, client, msg, actionId) : proxyResponse('Error', actionId, ['Message', 'Invalid Proxy Action']);
  client.answer(slot, answer, true);
}

function listIoHandlers(hub: Hub, _client: ProxyActionClient, _msg: AmiMessage, actionId: string | undefined): AmiMessage {
  const fields: AmiHeader[] = [];
  for (const name of hub.inputs.names()) fields.push(['InputHandler', name]);
  const outputs = new Set<string>();
  for (const name of hub.formats.names()) outputs.add(astmanproxyFormatName(hub.formats.get(name)!));
  for (const name of outputs) fields.push(['OutputHandler', name]);
  return proxyResponse('Success', actionId, ...fields);
}

/**
 * Every raw client (address, last ActionID sent to a PBX, input and output format) for a user
 * who may see the status page (`status = yes`), else the asker's own connection only; then the
 * PBXes the user may use, by host address.
 */
function listSessions(hub: Hub, client: ProxyActionClient, _msg: AmiMessage, actionId: string | undefined): AmiMessage {
  const fields: AmiHeader[] = [];
  for (const c of hub.clients) {
    if (c !== client && client.user?.status !== true) continue;
    fields.push(
      ['ProxyClientSession', toWire(c.address ?? '')],
      ['ProxyClientActionID', c.lastActionId ?? ''],
      ['ProxyClientInputHandler', c.input.name],
      ['ProxyClientOutputHandler', astmanproxyFormatName(c.format)],
    );
  }
  for (const slot of hub.servers.values()) {
    if (client.mayUseServer(slot.name)) fields.push(['ProxyServerSession', toWire(slot.config.host)]);
  }
  return proxyResponse('Success', actionId, ...fields);
}

/** astmanproxy's line per PBX: `I:` its address, `H:` its name, `U:` amiplex's AMI user there, `P:` port, `E:` events. */
function listServers(hub: Hub, client: ProxyActionClient, _msg: AmiMessage, actionId: string | undefined): AmiMessage {
  const fields: AmiHeader[] = [];
  for (const slot of hub.servers.values()) {
    if (!client.mayUseServer(slot.name)) continue;
    const c = slot.config;
    fields.push(['ProxyListServer I', toWire(`${c.host} H: ${slot.name} U: ${c.username} P: ${c.port} E: on `)]);
  }
  return proxyResponse('Success', actionId, ...fields);
}

function setOutputFormat(hub: Hub, client: ProxyActionClient, msg: AmiMessage, actionId: string | undefined): AmiMessage {
  const asked = getHeader(msg, 'OutputFormat')?.trim() ?? '';
  if (!client.setFormat) return proxyResponse('Failure', actionId, ['Message', 'SetOutputFormat works on raw TCP connections; over HTTP the listener, the path or format= chooses']);
  const format = hub.formats.get(ASTMANPROXY_FORMAT_NAMES.get(asked.toLowerCase()) ?? asked);
  if (!format) {
    const known = new Set([...ASTMANPROXY_FORMAT_NAMES.keys(), ...hub.formats.names().map((n) => astmanproxyFormatName(hub.formats.get(n)!))]);
    return proxyResponse('Failure', actionId, ['Message', `Unknown output format: ${asked === '' ? '(none)' : asked}; known: ${[...known].join(', ')}`]);
  }
  client.setFormat(format);
  return proxyResponse('Success', actionId, ['OutputFormat', astmanproxyFormatName(format)]);
}

function setAutoFilter(_hub: Hub, client: ProxyActionClient, msg: AmiMessage, actionId: string | undefined): AmiMessage {
  // As astmanproxy: anything but on or unique turns it off.
  const value = (getHeader(msg, 'AutoFilter') ?? '').trim().toLowerCase();
  const mode: AutoFilterMode = value === 'on' ? 'on' : value === 'unique' ? 'unique' : 'off';
  client.setAutoFilter?.(mode);
  return proxyResponse('Success', actionId, ['AutoFilter', String(AUTOFILTER_MODES.indexOf(mode))]);
}

/** AddServer, DropServer: the PBXes are proxy.conf's [server] sections, changed by a reload. */
function refuseServerChange(hub: Hub, client: ProxyActionClient, msg: AmiMessage, actionId: string | undefined): AmiMessage {
  const what = getHeader(msg, 'ProxyAction')?.trim() ?? '';
  const server = getHeader(msg, 'Server') ?? '';
  hub.log.info({ client: client.id, user: client.user?.name, proxyAction: what, server }, 'ProxyAction refused: servers are set in proxy.conf');
  return proxyResponse('Failure', actionId, ['Message', `${what} is not available: the PBXes are the [server] sections of proxy.conf; edit it and reload amiplex (SIGHUP)`]);
}
