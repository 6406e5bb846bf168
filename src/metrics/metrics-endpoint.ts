/**
 * `GET /metrics` on the HTTP listeners: the Prometheus text of the proxy's metrics, without
 * a login, to the addresses in `[general] metrics_permit` (loopback when absent). Any other
 * address gets 403, another method 405, each with its reason as plain text and logged once.
 */
import type http from 'node:http';
import type https from 'node:https';
import { compileAcl, type Acl } from '../access/acl.js';
import { remoteOf } from '../clients/http/http-context.js';
import type { HostPort } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ProxyMetrics } from './proxy-metrics.js';

export const METRICS_PATH = '/metrics';
/** Who may read /metrics when metrics_permit is absent. */
export const DEFAULT_METRICS_PERMIT: readonly string[] = ['127.0.0.0/8', '::1'];

export class MetricsEndpoint {
  private readonly acl: Acl;

  constructor(
    readonly metrics: ProxyMetrics,
    permit: readonly string[] | undefined,
    private readonly log: Logger,
  ) {
    this.acl = compileAcl(permit ?? DEFAULT_METRICS_PERMIT);
  }

  /** Counts the connections and requests of one HTTP listener (see ProxyMetrics.watchHttpServer). */
  watch(server: http.Server | https.Server, address: HostPort): void {
    this.metrics.watchHttpServer(server, address);
  }

  /** Answers a request for /metrics. */
  serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const address = req.socket.remoteAddress;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.refuse(req, res, 405, `Method ${req.method ?? ''} is not allowed on ${METRICS_PATH} (GET, HEAD)`, { Allow: 'GET, HEAD' });
    }
    if (!this.acl.allows(address)) {
      return this.refuse(req, res, 403, `${address ?? 'this address'} may not read ${METRICS_PATH} (metrics_permit)`);
    }
    this.metrics.text().then(
      (text) => {
        const body = Buffer.from(text, 'utf8');
        res.writeHead(200, { 'Content-Type': this.metrics.contentType, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        this.log.error({ http: remoteOf(req), err: err instanceof Error ? err.stack : String(err) }, 'metrics could not be collected');
        if (!res.headersSent) plain(res, 500, 'amiplex could not collect its metrics');
        else res.destroy();
      },
    );
  }

  private refuse(req: http.IncomingMessage, res: http.ServerResponse, status: number, reason: string, headers: Record<string, string> = {}): void {
    this.log.info({ http: remoteOf(req), method: req.method, path: METRICS_PATH, status, reason }, 'http request refused');
    plain(res, status, reason, headers);
  }
}

function plain(res: http.ServerResponse, status: number, reason: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${reason}\n`, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}
