/** The standard input format: raw AMI, read as Asterisk reads what a client sends (src/ami/decoder.ts). */
import { AmiDecoder } from '../src/ami/decoder.js';
import type { StreamInputModule } from '../src/inputs.js';

export const standardInput: StreamInputModule = {
  name: 'standard',
  kind: 'stream',
  decoder: (sink) =>
    new AmiDecoder(
      { side: 'from-client' },
      { message: (msg) => sink.message(msg), blank: () => sink.blank(), error: (code, text, headers) => sink.error(code, text, headers) },
    ),
};
