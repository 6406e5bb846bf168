/**
 * Messages as they may appear in logs: the values of secret-carrying headers replaced.
 * Secret and Key (the MD5 login digest) always; more with `redact_headers`.
 */
import { fromWire } from './message.js';
import type { AmiMessage } from './message.js';

export const ALWAYS_REDACTED: readonly string[] = Object.freeze(['secret', 'key']);

const HIDDEN = '********';

/** Lower-cased names of the headers to hide: Secret, Key and the configured ones. */
export function redactionSet(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...ALWAYS_REDACTED, ...extra.map((h) => h.toLowerCase())]);
}

/** The message's headers as `Name: value` lines for a log, hidden values shown as `********`. */
export function redactForLog(msg: AmiMessage, hidden: ReadonlySet<string>): string[] {
  return msg.headers.map(([name, value]) => `${name}: ${hidden.has(name.toLowerCase()) ? HIDDEN : value}`);
}

/**
 * A text about `msg` (a refusal's reason, which may quote its headers) with every value of a
 * hidden header replaced, as the text would quote it (decoded from the wire).
 */
export function redactText(text: string, msg: AmiMessage, hidden: ReadonlySet<string>): string {
  let out = text;
  for (const [name, value] of msg.headers) {
    if (value === '' || !hidden.has(name.toLowerCase())) continue;
    out = out.split(fromWire(value)).join(HIDDEN).split(value).join(HIDDEN);
  }
  return out;
}
