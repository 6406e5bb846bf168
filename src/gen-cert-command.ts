/**
 * `amiplex gen-cert`: writes a new self-signed certificate and key for the TLS listeners to
 * tls_cert and tls_key of proxy.conf (relative to its folder; without a proxy.conf, the defaults
 * relative to the current folder), and prints where, and the certificate's SHA-256 fingerprint
 * for clients to check. An existing file is kept unless --force.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { chosenConfigFile, ConfigError, GENERAL_SCHEMA, loadConfig } from './config/index.js';
import { CertificateError, defaultAltNames, fingerprint256, generateCertificate, writePemPair } from './tls/certificates.js';
import { certificatePaths } from './tls/server-tls.js';

export interface GenCertOptions {
  /** proxy.conf (default: ./proxy.conf when present). */
  readonly config?: string;
  readonly force?: boolean;
  /** Days of validity (default 730). */
  readonly days?: number;
  /** Common name (default: this host's name); also added to the certificate's names. */
  readonly cn?: string;
}

export function genCertCommand(opts: GenCertOptions, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): number {
  const file = chosenConfigFile(opts.config);
  let certPath: string;
  let keyPath: string;
  if (file === undefined) {
    certPath = path.resolve(GENERAL_SCHEMA.tlsCert.default!);
    keyPath = path.resolve(GENERAL_SCHEMA.tlsKey.default!);
  } else {
    try {
      ({ certPath, keyPath } = certificatePaths(loadConfig(file)));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      stderr.write(`${err.message}\n`);
      return 1;
    }
  }
  const existing = [certPath, keyPath].filter((p) => existsSync(p));
  if (existing.length > 0 && !opts.force) {
    stderr.write(`amiplex: ${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; --force replaces ${existing.length === 1 ? 'it' : 'them'}\n`);
    return 1;
  }
  const name = opts.cn ?? (hostname() || 'localhost');
  const pair = generateCertificate({ commonName: name, altNames: defaultAltNames(name), ...(opts.days !== undefined ? { days: opts.days } : {}) });
  try {
    writePemPair(pair, certPath, keyPath);
  } catch (err) {
    stderr.write(`amiplex: ${err instanceof CertificateError ? err.message : `cannot write the certificate: ${(err as Error).message}`}\n`);
    return 1;
  }
  stdout.write(`certificate: ${certPath}\nkey:         ${keyPath}\nSHA-256 fingerprint: ${fingerprint256(pair.cert)}\n`);
  return 0;
}
