/**
 * Messages as they may appear in logs: the values of secret-carrying headers replaced.
 * Secret and Key (the MD5 login digest) always; more with `redact_headers`.
 */
import type { AmiMessage } from './message.js';

export const ALWAYS_REDACTED: readonly string[] = Object.freeze(['secret', 'key']);

/** Lower-cased names of the headers to hide: Secret, Key and the configured ones. */
export function redactionSet(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...ALWAYS_REDACTED, ...extra.map((h) => h.toLowerCase())]);
}

/** The message's headers as `Name: value` lines for a log, hidden values shown as `********`. */
export function redactForLog(msg: AmiMessage, hidden: ReadonlySet<string>): string[] {
  return msg.headers.map(([name, value]) => `${name}: ${hidden.has(name.toLowerCase()) ? '********' : value}`);
}
