/**
 * Which messages amiplex wrote itself (its own answers: Login, Logoff, errors, Proxy* and
 * ProxyAction answers, its own events) as opposed to what a PBX said. Only formats that show
 * the difference care (astmanproxy's XML writes `<AsteriskManagerProxyOutput>` for the proxy's
 * own messages); the message model itself stays as it is. A message built by amiplex is marked
 * where it is made (router helpers, proxy actions); a copy made later is unmarked.
 */
import { appendHeader, hasHeader, type AmiMessage } from './message.js';

const fromProxy = new WeakSet<AmiMessage>();

/** Marks a message as amiplex's own; returns it. */
export function proxyMessage<T extends AmiMessage>(msg: T): T {
  fromProxy.add(msg);
  return msg;
}

/** Whether amiplex wrote this message itself (not a PBX). */
export function isProxyMessage(msg: AmiMessage): boolean {
  return fromProxy.has(msg);
}

/**
 * A PBX's answer as its owner gets it: with `Server: NAME` at its end when the owner's user asks
 * for it on answers (server_header_answers), unless amiplex wrote it or it names a server already.
 */
export function answerFrom(owner: { readonly user?: { readonly serverHeaderAnswers?: boolean } | undefined }, msg: AmiMessage, server: string): AmiMessage {
  if (owner.user?.serverHeaderAnswers !== true || isProxyMessage(msg) || hasHeader(msg, 'Server')) return msg;
  return appendHeader(msg, 'Server', server);
}
