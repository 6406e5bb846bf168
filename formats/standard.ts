/** The standard format: raw AMI, byte for byte as Asterisk writes it (Asterisk's /rawman over HTTP). */
import { encodeMessage } from '../src/ami/encoder.js';
import type { FormatModule } from '../src/formats.js';

export const standardFormat: FormatModule = {
  name: 'standard',
  contentType: 'text/plain; charset=utf-8',
  encode: encodeMessage,
  passthrough: true,
  document: (messages) => Buffer.concat(messages.map(encodeMessage)),
};
