/**
 * The json format: one JSON object per message.
 *
 *     {"Event":"Newchannel","Privilege":"call,all","Channel":"PJSIP/201-00000001",…}
 *
 * - Each header name is a key, case kept, in the order the names first appear. A name that
 *   appears once has its value as a string; a name that repeats (exactly, case included) has
 *   the array of its values in order: `"Output":["line 1","line 2"]`.
 * - Names and values are UTF-8 text; bytes that are not UTF-8 become U+FFFD. JSON.stringify
 *   escapes them, so an object never spans two lines.
 * - A legacy `Response: Follows` body (Asterisk 13) is the last key, `":follows"`, its raw text
 *   (line ends included). No AMI header name contains a colon.
 *
 * An HTTP answer (`document`) is a JSON array of those objects, one per line. On a raw TCP
 * stream it is newline-delimited JSON: each object and a line feed, after the banner line
 * `{"banner":"Asterisk Call Manager","version":"…"}`.
 *
 * What JSON does not keep: the relative order of different names when a repeated name is
 * interleaved with others (`A, B, A` gives `{"A":[…],"B":…}`). Keys are written in message order,
 * but a JavaScript `JSON.parse` lists integer-like keys (`"42"`) first; AMI names are not like that.
 */
import type { AmiMessage } from '../src/ami/message.js';
import type { FormatModule } from '../src/formats.js';
import { BANNER_NAME, textPairs } from './text.js';

/** The JSON text of one message. Written key by key (each part by JSON.stringify) so key order is exactly the message's. */
function object(msg: AmiMessage): string {
  const groups = new Map<string, string[]>();
  for (const [name, value] of textPairs(msg)) {
    const values = groups.get(name);
    if (values === undefined) groups.set(name, [value]);
    else values.push(value);
  }
  const members: string[] = [];
  for (const [name, values] of groups) {
    members.push(JSON.stringify(name) + ':' + JSON.stringify(values.length === 1 ? values[0] : values));
  }
  return '{' + members.join(',') + '}';
}

export const jsonFormat: FormatModule = {
  name: 'json',
  contentType: 'application/json; charset=utf-8',
  encode: (msg) => Buffer.from(object(msg) + '\n', 'utf8'),
  document: (messages) =>
    Buffer.from(messages.length === 0 ? '[]\n' : '[\n' + messages.map(object).join(',\n') + '\n]\n', 'utf8'),
  banner: (version) => Buffer.from(JSON.stringify({ banner: BANNER_NAME, version }) + '\n', 'utf8'),
};
