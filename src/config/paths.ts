/** Paths written in proxy.conf are relative to the folder of proxy.conf, not to the working directory. */
import path from 'node:path';
import type { ProxyConfig } from './types.js';

export function resolveConfigPath(config: Pick<ProxyConfig, 'file'>, p: string): string {
  return path.resolve(path.dirname(path.resolve(config.file)), p);
}
