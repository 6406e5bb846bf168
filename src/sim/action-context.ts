/**
 * What every action handler gets, and the response text they answer with: `Response:` first,
 * the ActionID second (left out when the action had none), then the handler's headers.
 */
import { getHeader, type AmiHeader, type AmiMessage } from '../ami/message.js';
import type { SimChannel } from './channels.js';
import type { SimSession } from './sim-session.js';
import type { SimulatedPbx } from './simulated-pbx.js';

export interface ActionContext {
  readonly pbx: SimulatedPbx;
  readonly session: SimSession;
  readonly msg: AmiMessage;
  /** The action's ActionID, undefined when absent or empty. */
  readonly id: string | undefined;
  header(name: string): string | undefined;
}

export type Handler = (ctx: ActionContext) => void;

export function idLine(id: string | undefined): string {
  return id === undefined ? '' : 'ActionID: ' + id + '\r\n';
}

/** `Response: <kind>`, the ActionID, then the given header lines, then the blank line. */
export function response(kind: string, id: string | undefined, ...lines: string[]): string {
  let text = 'Response: ' + kind + '\r\n' + idLine(id);
  for (const l of lines) text += l + '\r\n';
  return text + '\r\n';
}

export function success(id: string | undefined, message: string): string {
  return response('Success', id, 'Message: ' + message);
}

export function error(id: string | undefined, message: string): string {
  return response('Error', id, 'Message: ' + message);
}

/** The ActionID among `headers` (the first one, as Asterisk takes), undefined when absent or empty. */
export function actionIdIn(headers: readonly AmiHeader[]): string | undefined {
  const v = getHeader({ headers }, 'ActionID');
  return v === undefined || v === '' ? undefined : v;
}

/** The channel named by `Channel:`, null when absent, undefined when it does not exist. */
export function namedChannel(ctx: ActionContext): SimChannel | null | undefined {
  const name = ctx.header('Channel');
  if (name === undefined || name === '') return null;
  return ctx.pbx.channels.get(name);
}
