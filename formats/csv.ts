/**
 * The csv format: one record per message, its fields alternating header name and value.
 *
 *     Event,Newchannel,Privilege,"call,all",Channel,PJSIP/201-00000001,…
 *
 * - Headers in order, repeated names repeated (`…,Output,line 1,Output,line 2`), case kept, as
 *   UTF-8 text (bytes that are not UTF-8 become U+FFFD), not trimmed.
 * - Written by csv-stringify (RFC 4180): a field holding a comma, a double quote, CR or LF is
 *   quoted, its double quotes doubled; every record ends with CRLF. A quoted field may span
 *   lines, so read the stream with a CSV parser, not line by line.
 * - A legacy `Response: Follows` body (Asterisk 13) is a last pair: the name `:follows` and the
 *   raw text (line ends included). No AMI header name contains a colon.
 * - A message without headers is an empty line (parsers read one empty field); every other
 *   record has an even number of fields. There is no header row.
 *
 * An HTTP answer (`document`) is the records of its messages. On a raw TCP stream each message
 * is its record, after the banner record `banner,Asterisk Call Manager,version,…`.
 */
import { stringify, type Options } from 'csv-stringify/sync';

import type { AmiMessage } from '../src/ami/message.js';
import type { FormatModule } from '../src/formats.js';
import { BANNER_NAME, textPairs } from './text.js';

// Given a record_delimiter, csv-stringify quotes a lone CR or LF only when told to.
const OPTIONS: Options = { record_delimiter: 'windows', quote_record_delimiter: true };

function fields(msg: AmiMessage): string[] {
  return textPairs(msg).flat();
}

export const csvFormat: FormatModule = {
  name: 'csv',
  contentType: 'text/csv; charset=utf-8',
  encode: (msg) => Buffer.from(stringify([fields(msg)], OPTIONS), 'utf8'),
  document: (messages) => Buffer.from(stringify(messages.map(fields), OPTIONS), 'utf8'),
  banner: (version) => Buffer.from(stringify([['banner', BANNER_NAME, 'version', version]], OPTIONS), 'utf8'),
};
