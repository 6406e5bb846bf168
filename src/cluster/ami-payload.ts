/**
 * AMI messages as NATS payloads: the bytes Asterisk would write (a message from a PBX keeps its
 * raw bytes), read back with the AMI decoder, so what crosses nodes stays byte-exact. Pure.
 */
import { AmiDecoder, SERVER_LIMITS } from '../ami/decoder.js';
import { encodeMessage } from '../ami/encoder.js';
import type { AmiMessage } from '../ami/message.js';

export function toPayload(msg: AmiMessage): Uint8Array {
  return encodeMessage(msg);
}

/** Reads payloads of one message each; undefined for one that is not a sound AMI message. */
export class PayloadReader {
  private last: AmiMessage | undefined;
  private readonly decoder = new AmiDecoder(
    { side: 'from-server', banner: false, limits: SERVER_LIMITS },
    {
      message: (msg) => {
        this.last = msg;
      },
      error: () => {
        this.last = undefined;
      },
    },
  );

  read(payload: Uint8Array): AmiMessage | undefined {
    this.last = undefined;
    // A copy: the message keeps its raw bytes, and the NATS client may reuse its read buffer.
    this.decoder.push(Buffer.from(payload));
    const msg = this.last;
    this.last = undefined;
    return msg;
  }
}
