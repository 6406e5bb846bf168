/**
 * The composition root: builds the hub from a validated config, starts the PBX sessions and
 * the listeners, and stops them in order (listeners first, then clients and PBX sessions).
 */
import type { HostPort, ProxyConfig } from './config/index.js';
import { HttpService, type HttpBound, type HttpServiceOptions } from './clients/http/http-service.js';
import { AmiTcpListener } from './clients/ami/tcp-listener.js';
import { builtinFormats, type FormatRegistry } from './formats.js';
import { Hub, type ReloadSummary } from './hub.js';
import { silentLogger, type Logger } from './log.js';
import { ProxyMetrics } from './metrics/proxy-metrics.js';
import { listenerTlsOptions, prepareServerTls } from './tls/server-tls.js';
import type { Cluster } from './cluster/index.js';

export interface RunningProxy {
  readonly hub: Hub;
  /** The raw-AMI listeners' bound addresses: [general] listen lines, then [listener] sections (TLS or not), in file order. */
  readonly listeners: readonly HostPort[];
  /** The raw AMI over TLS listeners' bound addresses (`listen_tls =` lines, in file order); empty when none. */
  readonly tls: readonly HostPort[];
  /** The HTTP listeners' bound addresses (`http =` lines, in file order); empty when none. */
  readonly http: readonly HostPort[];
  /** The HTTPS listeners' bound addresses (`https =` lines, in file order); empty when none. */
  readonly https: readonly HostPort[];
  /** The bound addresses of the [listener] sections with input = http, in file order. */
  readonly httpListeners: readonly HostPort[];
  /** What /metrics reports (a registry of this proxy's own). */
  readonly metrics: ProxyMetrics;
  /** With a [cluster] section: this node's part of the cluster. */
  readonly cluster: Cluster | undefined;
  /**
   * Graceful stop: stops accepting, refuses new actions while those in flight are answered
   * (for at most half of shutdown_timeout), logs off every PBX (what is still pending is
   * answered with an error), then closes the clients. Idempotent.
   */
  stop(): Promise<void>;
  /** Applies a new configuration (SIGHUP); see Hub.reload. */
  reload(config: ProxyConfig): Promise<ReloadSummary>;
}

export interface StartOptions {
  readonly log?: Logger;
  readonly formats?: FormatRegistry;
  /** Options of the HTTP listeners (e.g. a shorter SSE keep-alive for tests). */
  readonly http?: HttpServiceOptions;
}

export async function startProxy(config: ProxyConfig, options: StartOptions = {}): Promise<RunningProxy> {
  const log = options.log ?? silentLogger();
  const formats = options.formats ?? builtinFormats();
  const formatNamed = (name: string) => {
    const format = formats.get(name);
    if (!format) throw new Error(`the ${name} format is not registered`);
    return format;
  };
  // The listeners' certificate first: a missing or broken one stops the start before anything listens.
  const serverTls = prepareServerTls(config, log);
  const tlsOf = (clientCa: string | undefined) => listenerTlsOptions(config, serverTls!, clientCa);
  const generalTls = serverTls ? tlsOf(config.general.tlsClientCa) : undefined;
  const hub = new Hub(config, log, formats);
  // Loaded only with a [cluster] section: a node on its own never loads NATS.
  const cluster = config.cluster === undefined ? undefined : (await import('./cluster/index.js')).startCluster(hub, config, log);
  const metrics = new ProxyMetrics(hub);
  const plain = config.general.listen.map((address) => new AmiTcpListener(hub, address, formatNamed('standard')));
  const secure = (config.general.listenTls ?? []).map((address) => new AmiTcpListener(hub, address, formatNamed('standard'), { tls: generalTls! }));
  const named = config.listeners
    .filter((l) => hub.inputs.stream(l.input) !== undefined)
    .map(
      (l) =>
        new AmiTcpListener(hub, l.listen, formatNamed(l.format), {
          name: l.name,
          ...(l.tls ? { tls: tlsOf(l.tlsClientCa) } : {}),
          client: {
            input: hub.inputs.stream(l.input)!,
            autoFilter: l.autofilter,
            ...(l.proxyKeyUser !== undefined ? { proxyKey: { user: l.proxyKeyUser, plainAllowed: l.proxyKeyPlain } } : {}),
          },
          ...(l.anonymousUser !== undefined ? { anonymousUser: l.anonymousUser } : {}),
        }),
    );
  // Never anonymous by accident: each anonymous listener is said at start (--check refused the unlimited ones).
  for (const l of config.listeners) {
    if (l.anonymousUser === undefined) continue;
    log.warn({ listener: l.name, listen: l.listen, user: l.anonymousUser, permit: l.permit ?? [] }, 'anonymous listener: its clients act as this user without logging in');
  }
  // A [listener] with input = http is an HTTP listener of its own: its format, permit, deny and TLS.
  const httpNamed = config.listeners
    .filter((l) => hub.inputs.get(l.input)?.kind === 'http')
    .map((l) => {
      const listener = {
        name: l.name,
        format: formatNamed(l.format).name,
        ...(l.anonymousUser !== undefined ? { anonymousUser: l.anonymousUser } : {}),
        ...(l.proxyKeyUser !== undefined ? { proxyKey: { user: l.proxyKeyUser, plainAllowed: l.proxyKeyPlain } } : {}),
      };
      return new HttpService(hub, l.tls ? [] : [l.listen], {
        ...options.http,
        metrics,
        listener,
        ...(l.tls ? { https: { addresses: [l.listen], tls: tlsOf(l.tlsClientCa) } } : {}),
      });
    });
  const listeners = [...plain, ...named, ...secure];
  const httpAddresses = config.general.http ?? [];
  const httpsAddresses = config.general.https ?? [];
  const http =
    httpAddresses.length + httpsAddresses.length > 0
      ? new HttpService(hub, httpAddresses, {
          ...options.http,
          metrics,
          ...(httpsAddresses.length > 0 ? { https: { addresses: httpsAddresses, tls: generalTls! } } : {}),
        })
      : undefined;
  const bound = new Map<AmiTcpListener, HostPort>();
  let httpBound: HttpBound = { http: [], https: [] };
  const namedHttpBound: HostPort[] = [];
  try {
    for (const listener of listeners) bound.set(listener, await listener.listen());
    if (http) httpBound = await http.listen();
    for (const service of httpNamed) {
      const b = await service.listen();
      namedHttpBound.push(...b.http, ...b.https);
    }
  } catch (err) {
    await Promise.all([...listeners.map((l) => l.close()), http?.close(), ...httpNamed.map((h) => h.close()), cluster?.close()]);
    throw err;
  }
  for (const listener of listeners) metrics.addListener('ami', listener.label);
  hub.start();
  const amiBound = [...plain, ...named].map((l) => bound.get(l)!);
  const tlsBound = secure.map((l) => bound.get(l)!);
  log.info(
    {
      listen: amiBound,
      ...(tlsBound.length > 0 ? { listen_tls: tlsBound } : {}),
      ...(named.some((l) => l.tls) ? { tls_listeners: named.filter((l) => l.tls).map((l) => l.name) } : {}),
      http: httpBound.http,
      ...(httpBound.https.length > 0 ? { https: httpBound.https } : {}),
      ...(httpNamed.length > 0 ? { http_listeners: httpNamed.map((h, i) => ({ name: h.listenerName, address: namedHttpBound[i] })) } : {}),
      ...(serverTls ? { tls_cert: serverTls.certPath, fingerprint: serverTls.fingerprint } : {}),
      servers: config.servers.map((s) => s.name),
      ...(cluster === undefined ? {} : { cluster: config.cluster!.name, node: cluster.node }),
    },
    'amiplex started',
  );
  let stopping: Promise<void> | undefined;
  return {
    hub,
    listeners: amiBound,
    tls: tlsBound,
    http: httpBound.http,
    https: httpBound.https,
    httpListeners: namedHttpBound,
    metrics,
    cluster,
    stop() {
      stopping ??= (async () => {
        log.info('amiplex stopping');
        // Listeners stop accepting now; their close resolves once their connections are gone.
        const closed = Promise.all(listeners.map((l) => l.close()));
        await hub.drain((hub.config.general.shutdownTimeout * 1000) / 2);
        const httpClosed = Promise.all([http?.close(), ...httpNamed.map((h) => h.close())]);
        // Cluster: no more claims; the sessions log off; then the leases are released for the nodes that take them.
        cluster?.quiesce();
        await hub.stop();
        await cluster?.close();
        await Promise.all([closed, httpClosed]);
        log.info('amiplex stopped');
      })();
      return stopping;
    },
    async reload(next) {
      const summary = await hub.reload(next);
      log.info(summary, 'configuration reloaded');
      if (summary.restartNeeded.length > 0) {
        log.warn({ settings: summary.restartNeeded }, 'these settings changed but take effect only after a restart');
      }
      return summary;
    },
  };
}
