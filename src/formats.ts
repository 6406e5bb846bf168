/**
 * Output formats: how a message is written to one kind of client. Each format is a module in
 * `formats/`; the registry is keyed by name and rejects a second module of the same name.
 * A format's `encode` must be pure: the fan-out calls it once per message and shares the bytes
 * with every client of that format.
 */
import type { AmiMessage } from './ami/message.js';
import { standardFormat } from '../formats/standard.js';

export interface FormatModule {
  /** The name clients and proxy.conf use to choose it. */
  readonly name: string;
  /** The bytes that carry one message to a client of this format. */
  encode(message: AmiMessage): Buffer;
}

export class DuplicateFormatError extends Error {
  readonly code = 'DUPLICATE_FORMAT';
  constructor(name: string) {
    super(`A format named '${name}' is already registered`);
  }
}

export class FormatRegistry {
  private readonly formats = new Map<string, FormatModule>();

  register(format: FormatModule): this {
    const key = format.name.toLowerCase();
    if (this.formats.has(key)) throw new DuplicateFormatError(format.name);
    this.formats.set(key, format);
    return this;
  }

  get(name: string): FormatModule | undefined {
    return this.formats.get(name.toLowerCase());
  }

  names(): string[] {
    return [...this.formats.values()].map((f) => f.name);
  }
}

/** The registry with every format amiplex ships. */
export function builtinFormats(): FormatRegistry {
  return new FormatRegistry().register(standardFormat);
}
