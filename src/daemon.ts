/**
 * The composition root: builds the hub from a validated config, starts the PBX sessions and
 * the listeners, and stops them in order (listeners first, then clients and PBX sessions).
 */
import type { HostPort, ProxyConfig } from './config/index.js';
import { AmiTcpListener } from './clients/tcp-listener.js';
import { builtinFormats, type FormatRegistry } from './formats.js';
import { Hub } from './hub.js';
import { silentLogger, type Logger } from './log.js';

export interface RunningProxy {
  readonly hub: Hub;
  /** The raw-AMI listeners' bound addresses: [general] listen lines, then [listener] sections, in file order. */
  readonly listeners: readonly HostPort[];
  /** Stops accepting, closes clients, logs off every PBX. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly log?: Logger;
  readonly formats?: FormatRegistry;
}

export async function startProxy(config: ProxyConfig, options: StartOptions = {}): Promise<RunningProxy> {
  const log = options.log ?? silentLogger();
  const formats = options.formats ?? builtinFormats();
  const formatNamed = (name: string) => {
    const format = formats.get(name);
    if (!format) throw new Error(`the ${name} format is not registered`);
    return format;
  };
  const hub = new Hub(config, log, formats);
  const listeners = [
    ...config.general.listen.map((address) => new AmiTcpListener(hub, address, formatNamed('standard'))),
    ...config.listeners.map((l) => new AmiTcpListener(hub, l.listen, formatNamed(l.format))),
  ];
  const bound: HostPort[] = [];
  try {
    for (const listener of listeners) bound.push(await listener.listen());
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  hub.start();
  log.info({ listen: bound, servers: config.servers.map((s) => s.name) }, 'amiplex started');
  let stopping: Promise<void> | undefined;
  return {
    hub,
    listeners: bound,
    stop() {
      stopping ??= (async () => {
        const closed = Promise.all(listeners.map((l) => l.close()));
        await hub.stop();
        await closed;
        log.info('amiplex stopped');
      })();
      return stopping;
    },
  };
}
