/** The standard format: raw AMI, byte for byte as Asterisk writes it. */
import { encodeMessage } from '../src/ami/encoder.js';
import type { FormatModule } from '../src/formats.js';

export const standardFormat: FormatModule = {
  name: 'standard',
  encode: encodeMessage,
};
