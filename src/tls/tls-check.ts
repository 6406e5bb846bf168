/**
 * What `amiplex --check` says about the TLS files a configuration names, without starting
 * anything or writing a file: the listeners' certificate and key (a pair that will be generated
 * at start is a note, not an error), every tls_client_ca, and every [server] tls_ca. The same
 * readers as the start uses, so --check and the start agree.
 */
import type { ProxyConfig } from '../config/index.js';
import { resolveConfigPath } from '../config/paths.js';
import { CertificateError, readPem, readPemPair } from './certificates.js';
import { certificatePaths, hasTlsListener, pairState, readClientCa } from './server-tls.js';

export interface TlsCheck {
  /** Files that would stop the start (or a PBX session), one message each. */
  readonly errors: readonly string[];
  readonly notes: readonly string[];
}

export function checkTlsFiles(config: ProxyConfig): TlsCheck {
  const errors: string[] = [];
  const notes: string[] = [];
  const attempt = (check: () => void) => {
    try {
      check();
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      errors.push(err.message);
    }
  };
  if (hasTlsListener(config)) {
    const { certPath, keyPath } = certificatePaths(config);
    attempt(() => {
      if (pairState(certPath, keyPath) === 'present') readPemPair(certPath, keyPath);
      else notes.push(`tls_cert ${certPath} and tls_key ${keyPath} are missing: a self-signed pair will be generated there at start`);
    });
    const clientCas = [config.general.tlsClientCa, ...config.listeners.filter((l) => l.tls).map((l) => l.tlsClientCa)];
    for (const ca of new Set(clientCas)) if (ca !== undefined) attempt(() => readClientCa(config, ca));
  }
  for (const server of config.servers) {
    if (server.tls && server.tlsCa !== undefined) attempt(() => readPem(resolveConfigPath(config, server.tlsCa!), `[server ${server.name}] tls_ca`));
  }
  return { errors, notes };
}
