/**
 * AMI over TLS to a PBX ([server] tls = yes): the options of tls.connect, and TLS failures in
 * words an operator can act on (the PBX's lastError and the log), the OpenSSL code kept.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import { resolveConfigPath } from '../config/paths.js';
import type { ProxyConfig, ServerConfig } from '../config/index.js';
import { readPem } from './certificates.js';

/**
 * tls.connect options for a PBX: its CA file (tls_ca, read now, relative to proxy.conf's
 * folder), verification (tls_verify) and the name checked and sent as SNI (tls_servername, else
 * host; an IP address is checked against the certificate's IP names and sent as no SNI).
 * Throws when tls_ca cannot be read.
 */
export function upstreamTlsOptions(server: ServerConfig, config: Pick<ProxyConfig, 'file'>): tls.ConnectionOptions {
  const name = server.tlsServername ?? server.host;
  const options: tls.ConnectionOptions = {
    host: server.host,
    port: server.port,
    rejectUnauthorized: server.tlsVerify,
  };
  if (isIP(name) === 0) options.servername = name;
  if (server.tlsServername !== undefined) {
    // The name checked is tls_servername, not the host connected to.
    options.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
  }
  if (server.tlsCa !== undefined) options.ca = readPem(resolveConfigPath(config, server.tlsCa), 'tls_ca');
  return options;
}

const REASONS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate signed by unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate signed by unknown authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate chain ends in a self-signed certificate that is not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate that is not trusted',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not carry the name asked for',
  CERT_REVOKED: 'certificate revoked',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
};

/** A TLS error as "TLS: reason (CODE)"; undefined for an error that is not about TLS. */
export function describeTlsError(err: Error & { code?: string; reason?: string }): string | undefined {
  const code = err.code;
  if (code !== undefined && REASONS[code] !== undefined) {
    const detail = code === 'ERR_TLS_CERT_ALTNAME_INVALID' && err.reason ? `: ${err.reason}` : '';
    return `TLS: ${REASONS[code]}${detail} (${code})`;
  }
  if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_') || /^[A-Z_]+_CERT|CERT_/.test(code ?? '')) return `TLS: ${err.message} (${code})`;
  return undefined;
}
