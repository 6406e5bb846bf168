/**
 * Actions amiplex answers itself, all named `Proxy*` so they can never clash with Asterisk's.
 * A client sees them as ordinary AMI: responses and EventLists with its ActionID.
 */
import { actionIdOf, getHeader, type AmiMessage } from './ami/message.js';
import type { ActionOwner } from './clients/shared/action-owner.js';
import type { AnswerSlot } from './clients/shared/answer-order.js';
import { serverStatus, type Hub } from './hub.js';
import { errorResponse, eventMessage, response } from './router/action-router.js';

/** Answers one Proxy* action: the messages of its answer, in order (the last one ends it). */
type ProxyActionHandler = (hub: Hub, client: ActionOwner, action: AmiMessage, actionId: string | undefined) => AmiMessage[];

const HANDLERS: ReadonlyMap<string, ProxyActionHandler> = new Map([
  ['proxylistservers', listServers],
  ['proxysetformat', setFormat],
]);

/** Answers a Proxy* action; false when the action is not one (it goes to a PBX then). */
export function proxyAction(hub: Hub, client: ActionOwner, action: AmiMessage, slot: AnswerSlot): boolean {
  const name = (getHeader(action, 'Action') ?? '').toLowerCase();
  if (!name.startsWith('proxy')) return false;
  const actionId = actionIdOf(action);
  const handler = HANDLERS.get(name);
  const answer = handler
    ? handler(hub, client, action, actionId)
    : [errorResponse(actionId, `Invalid/unknown command: ${getHeader(action, 'Action')}. Use Action: ListCommands to show available commands.`)];
  answer.forEach((msg, i) => client.answer(slot, msg, i === answer.length - 1));
  return true;
}

/** ProxyListServers: an EventList of the PBXes this client may use, with their state. */
function listServers(hub: Hub, client: ActionOwner, _action: AmiMessage, actionId: string | undefined): AmiMessage[] {
  const answer = [response('Success', actionId, ['EventList', 'start'], ['Message', 'Server list will follow'])];
  for (const slot of hub.servers.values()) {
    if (!client.mayUseServer(slot.name)) continue;
    const status = serverStatus(slot);
    const upSince = slot.remote === undefined ? slot.upSince : slot.remote.upSince;
    const node = hub.holderOf(slot);
    const item = eventMessage(
      'ProxyServer',
      actionId,
      ['Server', slot.name],
      ['Host', status.host],
      ['Port', String(status.port)],
      ['State', status.state],
      ['StateSince', new Date(status.since).toISOString()],
      ['AMIVersion', status.amiVersion ?? ''],
      ['ConnectedSince', upSince === undefined ? '' : new Date(upSince).toISOString()],
      ['Reconnects', String(status.reconnects)],
      ['EventsReceived', String(slot.eventsIn)],
      ['PendingActions', String(slot.router.size)],
      ['LastError', status.lastError ?? ''],
      ['Default', client.defaultServer === slot.name ? 'Yes' : 'No'],
      // Cluster mode only: the node that holds the PBX's session ('' while none does).
      ...(node === undefined ? [] : ([['Node', node]] as const)),
    );
    answer.push(item);
  }
  answer.push(eventMessage('ProxyListServersComplete', actionId, ['EventList', 'Complete'], ['ListItems', String(answer.length - 1)]));
  return answer;
}

/**
 * ProxySetFormat (Format: standard|xml|csv|json): the output format of this connection from now
 * on (this response included). Only on raw TCP connections; over HTTP the request chooses.
 */
function setFormat(hub: Hub, client: ActionOwner, action: AmiMessage, actionId: string | undefined): AmiMessage[] {
  const name = getHeader(action, 'Format')?.trim() ?? '';
  const format = hub.format(name);
  if (!client.setFormat) return [errorResponse(actionId, 'ProxySetFormat works on raw TCP connections; over HTTP the path or format= chooses')];
  if (!format) return [errorResponse(actionId, `Unknown format: ${name === '' ? '(none)' : name}; known: ${hub.formats.names().join(', ')}`)];
  client.setFormat(format);
  return [response('Success', actionId, ['Message', `Format set to ${format.name}`], ['Format', format.name])];
}
