/**
 * The astmanproxy-xml format: the XML astmanproxy wrote to its clients (`outputformat = xml`),
 * so scripts that parse it keep working. One element per message, CRLF line ends:
 *
 *     <AsteriskManagerOutput>
 *      <Response Value="Success"/>
 *      <ActionID Value="12345"/>
 *      <Ping Value="Pong"/>
 *      <Server Value="10.0.0.5"/>
 *     </AsteriskManagerOutput>
 *
 * and an empty line. `<AsteriskManagerOutput>` holds what a PBX said, `<AsteriskManagerProxyOutput>`
 * what amiplex said itself (its Login and Logoff answers, errors, ProxyAction answers; see
 * src/ami/origin.ts).
 * - Each header is one child ` <Name Value="value"/>`, in order, repeats kept. A header name that
 *   is not a plain XML name (ASCII letters, digits, `_`, `-`, `.`, starting with a letter or `_`,
 *   not starting with `xml` in any case) is written ` <Header Name="name" Value="value"/>`, so
 *   every header is named and every element well-formed. (astmanproxy wrote header lines of 30
 *   characters or more as `<UnparsedText Value="Name: value"/>`; amiplex names them.)
 * - Names and values are UTF-8 text (bytes that are not UTF-8 become U+FFFD, characters XML 1.0
 *   cannot carry too); `& < > "` are escaped as astmanproxy did, TAB, LF and CR as `&#9;` `&#10;`
 *   `&#13;` so a parser gives them back as they were.
 * - A legacy `Response: Follows` body (Asterisk 13) is one `<Output Value="line"/>` per line.
 *
 * An HTTP answer (`document`) is its messages' elements one after another (no XML declaration,
 * as astmanproxy): a stream of documents, each element a well-formed document of its own. On a
 * raw TCP stream each message is its element; the banner is Asterisk's line, as astmanproxy's.
 */
import type { AmiMessage } from '../src/ami/message.js';
import { isProxyMessage } from '../src/ami/origin.js';
import type { FormatModule } from '../src/formats.js';
import { outputPairs, xmlChars } from './text.js';

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** Text as an attribute value between double quotes. */
function attribute(text: string): string {
  return xmlChars(text).replace(/[&<>"\t\n\r]/g, (c) => ESCAPES[c]!);
}

/** The child element of one header. */
function child(name: string, value: string): string {
  if (PLAIN_NAME.test(name) && !/^xml/i.test(name)) return ` <${name} Value="${attribute(value)}"/>\r\n`;
  return ` <Header Name="${attribute(name)}" Value="${attribute(value)}"/>\r\n`;
}

/** The element of one message, and the empty line after it. */
function element(msg: AmiMessage): string {
  const root = isProxyMessage(msg) ? 'AsteriskManagerProxyOutput' : 'AsteriskManagerOutput';
  let out = `<${root}>\r\n`;
  for (const [name, value] of outputPairs(msg)) out += child(name, value);
  return out + `</${root}>\r\n\r\n`;
}

export const astmanproxyXmlFormat: FormatModule = {
  name: 'astmanproxy-xml',
  contentType: 'text/xml',
  encode: (msg) => Buffer.from(element(msg), 'utf8'),
  document: (messages) => Buffer.from(messages.map(element).join(''), 'utf8'),
};
