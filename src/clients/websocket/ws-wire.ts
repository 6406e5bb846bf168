/**
 * A text frame as ws frames it (its Sender, not hand-written framing), built once and shared:
 * a server's frames are never masked, so one event's frame is the same bytes for every socket
 * that gets it, as a raw TCP client's bytes are. A socket's output is then written as those
 * bytes, one write per turn of the event loop, and ws itself writes only its control frames
 * (ping, pong, close) on the same connection, each whole.
 */
import { Sender } from 'ws';

const TEXT = 0x1;
const OPTIONS = Object.freeze({ fin: true, rsv1: false, opcode: TEXT, mask: false, readOnly: true });

/**
 * The whole text frame (header and payload) of `payload` (UTF-8 JSON), in a buffer of its own
 * (not a view into a pooled slab): what a slow socket holds keeps nothing else alive.
 */
export function textFrame(payload: Buffer): Buffer {
  const parts = Sender.frame(payload, OPTIONS);
  let length = 0;
  for (const part of parts) length += part.length;
  const frame = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const part of parts) {
    frame.set(part, at);
    at += part.length;
  }
  return frame;
}
