/**
 * Input formats: how what a client sends becomes AMI actions. Each is a module in `formats/`
 * beside the output formats, pure (bytes in, messages out); the registry is keyed by name
 * (case-insensitive), as the output formats'. A `[listener NAME]` chooses one with `input =`.
 *
 * A stream input reads a raw TCP (or TLS) connection; the http input is an HTTP request parser
 * (formats/http.ts): a listener with `input = http` is an HTTP listener.
 */
import type { AmiHeader, AmiMessage } from './ami/message.js';
import { NamedRegistry } from './named-registry.js';
import { httpInput } from '../formats/http.js';
import { jsonInput } from '../formats/json-input.js';
import { standardInput } from '../formats/standard-input.js';
import { xmlInput } from '../formats/xml-input.js';

/** Where a stream input delivers what it read. */
export interface InputSink {
  /** One action (or ProxyAction) as the client sent it. */
  message(msg: AmiMessage): void;
  /** A bare empty line outside any message (Asterisk answers "Missing action in request"). */
  blank(): void;
  /** Input that could not be read: `code` for the log, `text` for the client, the headers read so far (their ActionID). */
  error(code: string, text: string, headers: readonly AmiHeader[]): void;
}

/** One connection's reader: bytes in, in order. */
export interface InputDecoder {
  push(chunk: Buffer): void;
}

export interface StreamInputModule {
  readonly name: string;
  readonly kind: 'stream';
  /** A reader for one connection. */
  decoder(sink: InputSink): InputDecoder;
}

export interface HttpInputModule {
  readonly name: string;
  readonly kind: 'http';
}

export type InputModule = StreamInputModule | HttpInputModule;

export class DuplicateInputError extends Error {
  readonly code = 'DUPLICATE_INPUT';
  constructor(name: string) {
    super(`An input format named '${name}' is already registered`);
  }
}

export class InputRegistry extends NamedRegistry<InputModule> {
  constructor() {
    super((name) => new DuplicateInputError(name));
  }

  /** The stream input named `name`; undefined for an unknown or an HTTP one. */
  stream(name: string): StreamInputModule | undefined {
    const input = this.get(name);
    return input?.kind === 'stream' ? input : undefined;
  }
}

/** The registry with every input format amiplex ships. */
export function builtinInputs(): InputRegistry {
  return new InputRegistry().register(standardInput).register(httpInput).register(xmlInput).register(jsonInput);
}
