/**
 * The xml format: the structure of Asterisk's AJAM `/mxml`, so AJAM code can be pointed at amiplex.
 *
 * One message is one element on one line:
 *
 *     <response type="object" id="unknown"><generic event="Newchannel" privilege="call,all" …/></response>
 *
 * - Each header is one attribute of `<generic>`, in order. Its name is the header name with ASCII
 *   letters lower-cased and every other byte that is not an ASCII digit replaced by `_`; a name
 *   starting with a digit, and `xmlns`, get a `_` in front; an empty name is `_`. The 2nd, 3rd, …
 *   header with the same attribute name is numbered as Asterisk does: `output`, `output-2`,
 *   `output-3`, … (no attribute name contains `-` otherwise, so numbered names never collide).
 * - Its value is the header value as UTF-8 text (bytes that are not UTF-8 become U+FFFD), not
 *   trimmed. Characters XML 1.0 cannot carry (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F,
 *   U+FFFE, U+FFFF, lone surrogates) become U+FFFD. fast-xml-parser's builder escapes `& < > " '`
 *   and writes TAB, LF and CR as `&#9;` `&#10;` `&#13;`, so a parser gives them back as they were
 *   (instead of normalizing them to spaces) and no element spans two lines.
 * - A legacy `Response: Follows` body (Asterisk 13) is the text content of `<generic>`, same rules.
 *
 * An HTTP answer (`document`) is `<ajax-response>`, a line feed, one such line per message, and
 * `</ajax-response>` with a line feed. On a raw TCP stream each message is its line, after the
 * banner line `<banner name="Asterisk Call Manager" version="…"/>`. Attributes are double-quoted
 * where Asterisk uses single quotes: the same document to any XML parser.
 */
import { XMLBuilder, type XmlBuilderOptions } from 'fast-xml-parser';

import { fromWire, type AmiMessage } from '../src/ami/message.js';
import type { FormatModule } from '../src/formats.js';
import { BANNER_NAME, xmlChars } from './text.js';

/** `entities` is the builder's documented default list plus TAB, LF and CR (missing from its typings). */
const builderOptions: XmlBuilderOptions & { entities: Array<{ regex: RegExp; val: string }> } = {
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
  // Otherwise a value "true" is written as a bare attribute name: not XML.
  suppressBooleanAttributes: false,
  entities: [
    { regex: /&/g, val: '&amp;' }, // first, before the others add ampersands
    { regex: />/g, val: '&gt;' },
    { regex: /</g, val: '&lt;' },
    { regex: /'/g, val: '&apos;' },
    { regex: /"/g, val: '&quot;' },
    { regex: /\t/g, val: '&#9;' },
    { regex: /\n/g, val: '&#10;' },
    { regex: /\r/g, val: '&#13;' },
  ],
};
const builder = new XMLBuilder(builderOptions);

const NOT_NAME_BYTE = /[^A-Za-z0-9]/g;
const names = new Map<string, string>();

/** The attribute name of a header name (a byte string), before numbering. */
function xmlAttributeName(name: string): string {
  let mapped = names.get(name);
  if (mapped === undefined) {
    mapped = name.replace(NOT_NAME_BYTE, '_').toLowerCase();
    // Not a valid name (empty, leading digit), or a namespace declaration to namespace-aware parsers.
    if (mapped === '' || /^[0-9]/.test(mapped) || mapped === 'xmlns') mapped = '_' + mapped;
    if (names.size >= 4096) names.clear(); // header names are few; bound the cache anyway
    names.set(name, mapped);
  }
  return mapped;
}

/** The `<response>` element of one message, without a line end. */
function element(msg: AmiMessage): string {
  const generic: Record<string, string> = {};
  const counts = new Map<string, number>();
  for (const [name, value] of msg.headers) {
    const base = xmlAttributeName(name);
    const n = (counts.get(base) ?? 0) + 1;
    counts.set(base, n);
    generic[n === 1 ? '@_' + base : `@_${base}-${n}`] = xmlChars(fromWire(value));
  }
  if (msg.follows !== undefined) generic['#text'] = xmlChars(fromWire(msg.follows));
  return builder.build({ response: { '@_type': 'object', '@_id': 'unknown', generic } });
}

export const xmlFormat: FormatModule = {
  name: 'xml',
  contentType: 'text/xml; charset=utf-8',
  encode: (msg) => Buffer.from(element(msg) + '\n', 'utf8'),
  document: (messages) =>
    Buffer.from('<ajax-response>\n' + messages.map((m) => element(m) + '\n').join('') + '</ajax-response>\n', 'utf8'),
  banner: (version) =>
    Buffer.from(builder.build({ banner: { '@_name': BANNER_NAME, '@_version': xmlChars(version) } }) + '\n', 'utf8'),
};
