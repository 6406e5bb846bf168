/**
 * The certificate of amiplex's own TLS listeners (listen_tls, https, [listener] tls = yes), read
 * once at start: tls_cert and tls_key, relative to proxy.conf's folder. When some TLS listener is
 * configured and BOTH files are missing, a self-signed pair is generated there first (its
 * fingerprint logged, for clients to pin); one file without the other, or a file that is not
 * usable, stops the start with an error naming the file.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import tls from 'node:tls';
import { resolveConfigPath } from '../config/paths.js';
import type { ProxyConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { CertificateError, defaultAltNames, fingerprint256, generateCertificate, readPem, readPemPair, writePemPair } from './certificates.js';

export interface ServerTls {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

/** What a TLS listener is set up with: the certificate, and a client CA for mutual TLS. */
export interface ListenerTlsOptions {
  readonly cert: string;
  readonly key: string;
  /** PEM of the CA client certificates must chain to; absent: no client certificate asked for. */
  readonly ca?: string;
  readonly requestCert: boolean;
  /** A client whose certificate did not verify is refused (by the listener: see clientCertificateRefusal). */
  readonly rejectUnauthorized: boolean;
}

/**
 * The tls.createServer options of a listener, the handshake within `handshakeTimeoutMs`. Node
 * itself refuses no client certificate: it lets the handshake finish (`authorized` false) and
 * the listener refuses it with clientCertificateRefusal, so that the refusal is logged with its
 * reason (node would close the connection without a word).
 */
export function tlsServerOptions(t: ListenerTlsOptions, handshakeTimeoutMs: number): tls.TlsOptions {
  return {
    cert: t.cert,
    key: t.key,
    ...(t.ca ? { ca: t.ca } : {}),
    requestCert: t.requestCert,
    rejectUnauthorized: false,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/**
 * Why a finished handshake is refused, when the listener asks for client certificates and this
 * one did not verify (none given, or not signed by its CA); undefined when it may go on.
 */
export function clientCertificateRefusal(socket: tls.TLSSocket, t: ListenerTlsOptions): string | undefined {
  if (!t.rejectUnauthorized || socket.authorized) return undefined;
  const given = Object.keys(socket.getPeerCertificate()).length > 0;
  return `client certificate not accepted (${given ? String(socket.authorizationError) : 'none given'})`;
}

/** Whether the configuration has any TLS listener. */
export function hasTlsListener(config: ProxyConfig): boolean {
  const g = config.general;
  return (g.listenTls?.length ?? 0) > 0 || (g.https?.length ?? 0) > 0 || config.listeners.some((l) => l.tls);
}

/** The paths of tls_cert and tls_key, resolved against proxy.conf's folder. */
export function certificatePaths(config: ProxyConfig): { certPath: string; keyPath: string } {
  return { certPath: resolveConfigPath(config, config.general.tlsCert), keyPath: resolveConfigPath(config, config.general.tlsKey) };
}

/**
 * Whether the certificate and key files are both there (`present`) or both missing (`missing`,
 * to be generated); throws a CertificateError when only one of them is.
 */
export function pairState(certPath: string, keyPath: string): 'present' | 'missing' {
  const certExists = existsSync(certPath);
  const keyExists = existsSync(keyPath);
  if (certExists && keyExists) return 'present';
  if (!certExists && !keyExists) return 'missing';
  const [have, missing] = certExists ? [`tls_cert ${certPath}`, `tls_key ${keyPath}`] : [`tls_key ${keyPath}`, `tls_cert ${certPath}`];
  throw new CertificateError(
    `${missing} is missing but ${have} exists: give both, or remove both to have amiplex generate a self-signed pair`,
    certExists ? keyPath : certPath,
  );
}

/**
 * Reads (generating them first when both are missing) the listeners' certificate and key;
 * undefined when no TLS listener is configured. Throws a CertificateError.
 */
export function prepareServerTls(config: ProxyConfig, log: Logger): ServerTls | undefined {
  if (!hasTlsListener(config)) return undefined;
  const { certPath, keyPath } = certificatePaths(config);
  if (pairState(certPath, keyPath) === 'missing') {
    const pair = generateCertificate({ commonName: hostname() || 'localhost', altNames: defaultAltNames(hostname()) });
    try {
      writePemPair(pair, certPath, keyPath);
    } catch (err) {
      throw new CertificateError(`cannot write a generated certificate to ${certPath} and ${keyPath}: ${(err as Error).message}`, certPath);
    }
    log.info({ cert: certPath, key: keyPath, fingerprint: fingerprint256(pair.cert) }, 'no TLS certificate: generated a self-signed one');
  }
  const { cert, key } = readPemPair(certPath, keyPath);
  return { certPath, keyPath, cert, key, fingerprint: fingerprint256(cert) };
}

/** The TLS options of a listener: the certificate, and when `clientCa` is set, mutual TLS with that CA file. */
export function listenerTlsOptions(config: ProxyConfig, material: ServerTls, clientCa: string | undefined): ListenerTlsOptions {
  if (clientCa === undefined) return { cert: material.cert, key: material.key, requestCert: false, rejectUnauthorized: false };
  return { cert: material.cert, key: material.key, ca: readClientCa(config, clientCa), requestCert: true, rejectUnauthorized: true };
}

/** A tls_client_ca file (relative to proxy.conf's folder), read and checked usable as a CA. Throws a CertificateError. */
export function readClientCa(config: ProxyConfig, clientCa: string): string {
  const file = resolveConfigPath(config, clientCa);
  const ca = readPem(file, 'tls_client_ca');
  try {
    tls.createSecureContext({ ca });
  } catch (err) {
    throw new CertificateError(`tls_client_ca ${file}: not a usable CA certificate (${(err as Error).message})`, file);
  }
  return ca;
}
