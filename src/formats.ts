/**
 * Output formats: how messages are written to one kind of client. Each format is a module in
 * `formats/`; the registry is keyed by name (case-insensitive) and rejects a second module of
 * the same name. Adding a format is one file in `formats/` and one line in `builtinFormats()`.
 *
 * A format's functions must be pure: the fan-out calls `encode` once per message and shares the
 * bytes with every client of that format, whatever their number.
 */
import type { AmiMessage } from './ami/message.js';
import { encodeBanner } from './ami/encoder.js';
import { NamedRegistry } from './named-registry.js';
import { astmanproxyCsvFormat } from '../formats/astmanproxy-csv.js';
import { astmanproxyXmlFormat } from '../formats/astmanproxy-xml.js';
import { csvFormat } from '../formats/csv.js';
import { jsonFormat } from '../formats/json.js';
import { standardFormat } from '../formats/standard.js';
import { xmlFormat } from '../formats/xml.js';

export interface FormatModule {
  /** The name clients and proxy.conf use to choose it. */
  readonly name: string;
  /** MIME type of `document()` output (an HTTP body). */
  readonly contentType: string;
  /** One message as it is written on a raw TCP stream: a self-delimiting piece of the stream. */
  encode(message: AmiMessage): Buffer;
  /** A complete answer (one or more messages, in order) as one document, e.g. an HTTP body. */
  document(messages: readonly AmiMessage[]): Buffer;
  /** What a raw TCP client of this format receives on connect; absent: Asterisk's banner line as is. */
  banner?(version: string): Buffer;
  /**
   * `encode()` writes a message that has its raw bytes (one from a PBX) as those bytes, untouched
   * (raw AMI): the fan-out may then write them as they are, or with a header appended after them.
   */
  readonly passthrough?: boolean;
}

/** The banner a raw TCP client of `format` receives first. */
export function bannerFor(format: FormatModule, version: string): Buffer {
  return format.banner ? format.banner(version) : encodeBanner(version);
}

export class DuplicateFormatError extends Error {
  readonly code = 'DUPLICATE_FORMAT';
  constructor(name: string) {
    super(`A format named '${name}' is already registered`);
  }
}

export class FormatRegistry extends NamedRegistry<FormatModule> {
  constructor() {
    super((name) => new DuplicateFormatError(name));
  }
}

/** The registry with every format amiplex ships. */
export function builtinFormats(): FormatRegistry {
  return new FormatRegistry()
    .register(standardFormat)
    .register(xmlFormat)
    .register(csvFormat)
    .register(jsonFormat)
    .register(astmanproxyXmlFormat)
    .register(astmanproxyCsvFormat);
}
