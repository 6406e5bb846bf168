/**
 * Entry points: `parseConfig` (text in, frozen config out, pure) and `loadConfig` (reads the
 * file first). Both throw one ConfigError listing every issue.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { tokenizeIni } from './ini.js';
import type { ProxyConfig } from './types.js';
import { validateEntries } from './validate.js';

/** Parses and validates proxy.conf text; `file` is only used in messages and `config.file`. */
export function parseConfig(text: string, file: string): ProxyConfig {
  const result = validateEntries(tokenizeIni(text), file);
  if (!result.ok) throw new ConfigError(result.issues);
  return deepFreeze(result.config);
}

/** Reads a UTF-8 proxy.conf and parses it. A file that cannot be read is a ConfigError too. */
export function loadConfig(path: string): ProxyConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError([{ file: path, line: 0, code: 'READ_FAILED', message: `cannot read the file: ${reason}` }]);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const loose = new TextDecoder('utf-8').decode(bytes);
    const bad = loose.indexOf('\ufffd');
    const line = bad < 0 ? 0 : loose.slice(0, bad).split('\n').length;
    throw new ConfigError([{ file: path, line, code: 'READ_FAILED', message: 'not valid UTF-8 text' }]);
  }
  return parseConfig(text, path);
}
