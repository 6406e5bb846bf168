/**
 * An event on its way to many clients. It is encoded at most once per format and variant
 * (with or without the `Server:` header), however many clients receive it; the clients share
 * the resulting Buffer. The message itself is never changed in place. It is also what the
 * clients' event filters look at (EventView): its name and text are worked out at most once,
 * and only when a filter asks.
 *
 * An encoding is often a view into a larger buffer (the PBX's read chunk, for raw AMI; a pooled
 * slab, for a short one). A client that writes it at once needs nothing more; a client whose
 * output is going to wait asks for the `standalone` variant instead — made once, shared by every
 * such client — so what lagging clients hold never keeps whole read chunks or slabs alive.
 *
 * Raw AMI clients that want a `Server:` header on each event get the PBX's bytes untouched with
 * the header after them (`withServerLine`): nothing is parsed or encoded, the bytes are copied
 * once per event (into Node's pooled slab; a standalone copy too once a lagging client asks),
 * and every such client shares them.
 */
import { encodeText } from '../../ami/encoder.js';
import { standalone } from './output-queue.js';
import { appendHeader, getHeader, hasHeader, type AmiMessage } from '../../ami/message.js';
import { WireMessage } from '../../ami/wire-message.js';
import type { EventView } from '../../filters/event-view.js';
import type { FormatModule } from '../../formats.js';

const CRLF_CRLF = 0x0d0a0d0a;

/** One format's encodings of an event: without and with the Server header, then both as standalone copies. */
type Encodings = [Buffer | undefined, Buffer | undefined, Buffer | undefined, Buffer | undefined];

export class Outbound implements EventView {
  /**
   * Per format: bytes without and with the Server header, then the same as standalone copies.
   * Keyed by the module itself: no string keys in the hot loop. The first format asked for has a
   * slot of its own, the others a Map made when one is asked for (most events go to one format,
   * and raw AMI clients wanting a Server header never ask: an object less per event).
   */
  private firstFormat: FormatModule | undefined;
  private firstEntry: Encodings | undefined;
  private others: Map<FormatModule, Encodings> | undefined;
  private tagged: AmiMessage | undefined;
  /**
   * For raw AMI clients that want a Server header: the PBX's bytes up to their final blank line,
   * then the Server line, joined in one buffer (a view of Node's pool); null when that does not apply.
   */
  private headAndServer: Buffer | null | undefined;
  /** The same in a buffer of its own, for clients whose output is going to wait. */
  private headAndServerAlone: Buffer | undefined;
  private eventName: string | undefined;
  private wholeText: string | undefined;

  constructor(
    readonly message: AmiMessage,
    /** The PBX it came from (a byte string), or undefined for amiplex's own events. */
    readonly server: string | undefined,
    /** Its event classes (see event-classes.ts). */
    readonly classBits: number,
    /** In cluster mode: its sequence number in the cluster's event stream, the same on every node (the SSE event id). */
    readonly seq?: number,
  ) {}

  /** The value of its Event header ('' when it has none). */
  get name(): string {
    return (this.eventName ??= getHeader(this.message, 'Event') ?? '');
  }

  /** The event as Asterisk's filters see it: the bytes the PBX sent (without amiplex's Server header), as text. */
  text(): string {
    return (this.wholeText ??= this.message.raw?.toString('latin1') ?? encodeText(this.message));
  }

  /**
   * The bytes for clients of `format`, with a `Server:` header appended when asked and absent;
   * `standalone`: in a buffer of their own, for a client that is going to hold them a while.
   */
  bytes(format: FormatModule, serverHeader: boolean, standaloneCopy = false): Buffer {
    const tag = serverHeader && this.server !== undefined ? 1 : 0;
    const entry = this.encodings(format);
    const bytes = (entry[tag] ??= format.encode(tag ? this.withServer() : this.message));
    return standaloneCopy ? (entry[tag + 2] ??= standalone(bytes)) : bytes;
  }

  /**
   * As `bytes`; for a format that passes the PBX's bytes through (raw AMI) with a `Server:`
   * header to append, those bytes without their final blank line and the `Server:` line after
   * them, joined once and shared (`standalone`: a copy of its own, also made once).
   */
  withServerLine(format: FormatModule, serverHeader: boolean, standaloneCopy = false): Buffer {
    if (serverHeader && format.passthrough === true && this.server !== undefined) {
      const both = (this.headAndServer ??= this.joinServerLine(this.server));
      if (both !== null) return standaloneCopy ? (this.headAndServerAlone ??= standalone(both)) : both;
    }
    return this.bytes(format, serverHeader, standaloneCopy);
  }

  private encodings(format: FormatModule): Encodings {
    if (this.firstFormat === format) return this.firstEntry!;
    if (this.firstFormat === undefined) {
      this.firstFormat = format;
      return (this.firstEntry = [undefined, undefined, undefined, undefined]);
    }
    this.others ??= new Map();
    let entry = this.others.get(format);
    if (entry === undefined) {
      entry = [undefined, undefined, undefined, undefined];
      this.others.set(format, entry);
    }
    return entry;
  }

  /** The raw bytes up to the blank line that ends them and `Server: NAME` after them, or null when no Server header goes there. */
  private joinServerLine(server: string): Buffer | null {
    const head = this.rawHead();
    if (head === null) return null;
    const line = serverLine(server);
    // From Node's shared pool (one allocation for many events: the collector's work is per
    // allocation); a client that is going to hold it gets a copy of its own (headAndServerAlone).
    // TypedArray set: the copy without Buffer.copy's argument checks (a fifth of the time here).
    const both = Buffer.allocUnsafe(head.length + line.length);
    both.set(head, 0);
    both.set(line, head.length);
    return both;
  }

  /** The raw bytes up to the blank line that ends them, when a Server header goes there. */
  private rawHead(): Buffer | null {
    const msg = this.message;
    if (msg instanceof WireMessage) return hasHeader(msg, 'Server') ? null : msg.head;
    const raw = msg.raw;
    if (raw === undefined || raw.length < 4 || raw.readUInt32BE(raw.length - 4) !== CRLF_CRLF || hasHeader(this.message, 'Server')) return null;
    return raw.subarray(0, raw.length - 2);
  }

  private withServer(): AmiMessage {
    if (this.tagged === undefined) {
      this.tagged = hasHeader(this.message, 'Server') ? this.message : appendHeader(this.message, 'Server', this.server!);
    }
    return this.tagged;
  }
}

/** `Server: NAME` and the blank line after it, made once per PBX name. */
const SERVER_LINES = new Map<string, Buffer>();

function serverLine(server: string): Buffer {
  let line = SERVER_LINES.get(server);
  if (line === undefined) {
    line = Buffer.from(`Server: ${server}\r\n\r\n`, 'latin1');
    // PBX names come from proxy.conf (a reload may add some): the bound only guards the map.
    if (SERVER_LINES.size < 10_000) SERVER_LINES.set(server, line);
  }
  return line;
}
