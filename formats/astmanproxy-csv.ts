/**
 * The astmanproxy-csv format: the CSV astmanproxy wrote to its clients (`outputformat = csv`).
 * One line per message, each header line `Name: value` quoted whole, joined by `, `, then CRLF
 * and an empty line:
 *
 *     "Response: Success", "ActionID: 7", "Ping: Pong"
 *
 * - Headers in order, repeats kept, as UTF-8 text (bytes that are not UTF-8 become U+FFFD).
 * - A `"` inside is doubled (astmanproxy wrote it as it was, which no CSV reader can split);
 *   a CR or LF inside a value (none in AMI headers) is written as a space, so a message stays
 *   one line.
 * - A legacy `Response: Follows` body (Asterisk 13) is one `"Output: line"` per line.
 *
 * An HTTP answer is its messages' lines one after another; on a raw TCP stream the banner is
 * Asterisk's line, as astmanproxy's.
 */
import type { AmiMessage } from '../src/ami/message.js';
import type { FormatModule } from '../src/formats.js';
import { outputPairs } from './text.js';

function line(msg: AmiMessage): string {
  const fields = outputPairs(msg).map(([name, value]) => `"${`${name}: ${value}`.replace(/"/g, '""').replace(/[\r\n]/g, ' ')}"`);
  return fields.join(', ') + '\r\n\r\n';
}

export const astmanproxyCsvFormat: FormatModule = {
  name: 'astmanproxy-csv',
  contentType: 'text/plain',
  encode: (msg) => Buffer.from(line(msg), 'utf8'),
  document: (messages) => Buffer.from(messages.map(line).join(''), 'utf8'),
};
