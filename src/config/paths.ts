/** Paths written in proxy.conf are relative to the folder of proxy.conf, not to the working directory. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ProxyConfig } from './types.js';

export function resolveConfigPath(config: Pick<ProxyConfig, 'file'>, p: string): string {
  return path.resolve(path.dirname(path.resolve(config.file)), p);
}

/** The proxy.conf a command reads: the one given (--config), else ./proxy.conf when there is one. */
export function chosenConfigFile(given: string | undefined): string | undefined {
  return given ?? (existsSync('proxy.conf') ? 'proxy.conf' : undefined);
}
