/**
 * Hosts and HOST:PORT addresses: IPv4 (`127.0.0.1:1234`), bracketed IPv6 (`[::1]:1234`)
 * and host names (`pbx.example.com:5038`). Pure; nothing is resolved.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { HostPort } from './types.js';

export type HostResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly reason: string };
export type HostPortResult =
  | { readonly ok: true; readonly value: HostPort }
  | { readonly ok: false; readonly reason: string };

const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const DOTTED_NUMBERS = /^[0-9.]+$/;

/** `[::1]:1234` for IPv6, `host:port` otherwise. */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** A host name, IPv4 address or IPv6 address (bare or in brackets); brackets are dropped. */
export function parseHost(text: string): HostResult {
  if (text.startsWith('[') && text.endsWith(']')) {
    const inner = text.slice(1, -1);
    if (isIPv6(inner)) return { ok: true, value: inner };
    return { ok: false, reason: `"${inner}" is not an IPv6 address` };
  }
  if (text.includes(':')) {
    if (isIPv6(text)) return { ok: true, value: text };
    return { ok: false, reason: 'expected a host name or IP address without a port' };
  }
  return checkName(text);
}

/** `HOST:PORT`, port 0–65535; an IPv6 host must be in brackets. */
export function parseHostPort(text: string): HostPortResult {
  let hostText: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') {
      return { ok: false, reason: 'expected [IPv6]:PORT, such as [::1]:1234' };
    }
    hostText = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6(hostText)) return { ok: false, reason: `"${hostText}" is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { ok: false, reason: 'expected HOST:PORT, such as 127.0.0.1:1234' };
    hostText = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (hostText.includes(':')) {
      return { ok: false, reason: 'an IPv6 address must be in brackets, such as [::1]:1234' };
    }
    if (hostText === '') {
      return { ok: false, reason: 'missing host (0.0.0.0 or [::] listen on every interface)' };
    }
    const host = checkName(hostText);
    if (!host.ok) return host;
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return { ok: false, reason: `expected a port from 0 to 65535 after the host, got "${portText}"` };
  }
  return { ok: true, value: { host: hostText, port: Number(portText) } };
}

function checkName(text: string): HostResult {
  if (text === '') return { ok: false, reason: 'expected a host name or IP address' };
  if (DOTTED_NUMBERS.test(text)) {
    if (isIPv4(text)) return { ok: true, value: text };
    return { ok: false, reason: `"${text}" is not an IPv4 address` };
  }
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length > 253 || !name.split('.').every((label) => LABEL.test(label))) {
    return { ok: false, reason: `"${text}" is not a valid host name` };
  }
  return { ok: true, value: text };
}
