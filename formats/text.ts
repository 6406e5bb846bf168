/**
 * What the text output formats (xml, csv, json) share: a message as UTF-8 text, and the names
 * they give to the parts of it that are not headers.
 */
import { fromWire, type AmiMessage } from '../src/ami/message.js';

/**
 * The name csv and json give a legacy `Response: Follows` body (Asterisk 13 and older): no AMI
 * header name contains a colon, since a header line's name ends at its first colon.
 */
export const FOLLOWS_NAME = ':follows';

/** What the banner of a raw TCP stream says before the version (as `Asterisk Call Manager/11.0.0`). */
export const BANNER_NAME = 'Asterisk Call Manager';

/**
 * The message as text name/value pairs: its headers in order, names and values UTF-8 decoded
 * (a byte that is not valid UTF-8 becomes U+FFFD), then `[FOLLOWS_NAME, body]` when the message
 * has a legacy body.
 */
export function textPairs(msg: AmiMessage): Array<[name: string, value: string]> {
  const pairs: Array<[string, string]> = msg.headers.map(([name, value]) => [fromWire(name), fromWire(value)]);
  if (msg.follows !== undefined) pairs.push([FOLLOWS_NAME, fromWire(msg.follows)]);
  return pairs;
}
