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
  const pairs = headerPairs(msg);
  if (msg.follows !== undefined) pairs.push([FOLLOWS_NAME, fromWire(msg.follows)]);
  return pairs;
}

// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** JavaScript text with every character XML 1.0 cannot carry replaced by U+FFFD. */
export function xmlChars(text: string): string {
  return text.replace(NOT_XML_CHAR, '\ufffd');
}

/**
 * The message as text pairs the way astmanproxy's formats list it: its headers, and a legacy
 * `Response: Follows` body as one `Output` pair per line, as Asterisk 14 and later write it.
 */
export function outputPairs(msg: AmiMessage): Array<[name: string, value: string]> {
  const pairs = headerPairs(msg);
  if (msg.follows !== undefined) {
    for (const line of fromWire(msg.follows).split(/\r?\n/)) if (line !== '') pairs.push(['Output', line]);
  }
  return pairs;
}

function headerPairs(msg: AmiMessage): Array<[name: string, value: string]> {
  return msg.headers.map(([name, value]) => [fromWire(name), fromWire(value)]);
}
