/**
 * TLS certificates: generating one (self-signed, or signed by a CA of the caller's — the tests
 * make a CA and certificates for servers and clients with it), its SHA-256 fingerprint as
 * openssl prints it, writing a PEM pair (key mode 0600), and checking a pair read from disk.
 *
 * node-forge builds and signs the X.509 structure; node:crypto makes the RSA key (native, fast)
 * and checks that a key matches its certificate.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import forge from 'node-forge';

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

export interface CertificateOptions {
  /** Subject common name (default `localhost`). */
  readonly commonName?: string;
  /** Days of validity from now (default 730, about two years). */
  readonly days?: number;
  /** Subject alternative names: DNS names and IP addresses, told apart by their form. */
  readonly altNames?: readonly string[];
  /** A CA certificate (basicConstraints cA, keyCertSign) instead of a leaf. */
  readonly ca?: boolean;
  /** Extended key usages of a leaf (default: server and client authentication). */
  readonly usage?: readonly ('server' | 'client')[];
  /** Signs with this CA; absent: self-signed. */
  readonly issuer?: PemPair;
}

/** The names amiplex's own certificate carries: localhost, the loopback addresses, and `host`. */
export function defaultAltNames(host: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  if (host !== '' && !names.includes(host)) names.push(host);
  return names;
}

/** An RSA 2048 key and a certificate for it, in PEM. */
export function generateCertificate(options: CertificateOptions = {}): PemPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive random serial of 16 bytes (the high bit cleared: DER integers are signed).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + (options.days ?? 730) * 86_400_000);
  const subject = [{ name: 'commonName', value: options.commonName ?? 'localhost' }, { name: 'organizationName', value: 'amiplex' }];
  cert.setSubject(subject);
  const issuerCert = options.issuer ? forge.pki.certificateFromPem(options.issuer.cert) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subject);
  const extensions: object[] = [{ name: 'subjectKeyIdentifier' }];
  if (options.ca) {
    extensions.push({ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true });
  } else {
    const usage = options.usage ?? ['server', 'client'];
    extensions.push(
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: usage.includes('server'), clientAuth: usage.includes('client') },
    );
    const altNames = options.altNames ?? defaultAltNames('');
    if (altNames.length > 0) {
      extensions.push({ name: 'subjectAltName', altNames: altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) });
    }
  }
  if (issuerCert) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() });
  cert.setExtensions(extensions);
  // forge reads the PKCS#8 keys node exports (an issuer's key comes the same way).
  const signer = forge.pki.privateKeyFromPem(options.issuer?.key ?? keyPem);
  cert.sign(signer, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

/** SHA-256 of the certificate's DER, as colon-separated upper-case hex (openssl x509 -fingerprint -sha256). */
export function fingerprint256(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Writes a pair, creating the folders; the key is readable by its owner only (0600). */
export function writePemPair(pair: PemPair, certPath: string, keyPath: string): void {
  for (const p of [certPath, keyPath]) mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(keyPath, pair.key, { mode: 0o600 });
  chmodSync(keyPath, 0o600); // a key file that already existed keeps its mode otherwise
  writeFileSync(certPath, pair.cert, { mode: 0o644 });
}

/** A certificate or key that cannot be used, naming its file. */
export class CertificateError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

/**
 * Reads a certificate and its key, and checks both: readable, PEM, the key that of the
 * certificate (its first one, when the file holds a chain). Throws a CertificateError.
 */
export function readPemPair(certPath: string, keyPath: string): PemPair {
  const cert = readPem(certPath, 'tls_cert', 'CERTIFICATE');
  const key = readPem(keyPath, 'tls_key', 'PRIVATE KEY');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new CertificateError(`tls_cert ${certPath}: not a valid PEM certificate (${(err as Error).message})`, certPath);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new CertificateError(`tls_key ${keyPath}: not a usable PEM private key (${(err as Error).message})`, keyPath);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CertificateError(`tls_key ${keyPath} is not the key of the certificate in tls_cert ${certPath}`, keyPath);
  }
  return { cert, key };
}

/**
 * A PEM file's text; throws a CertificateError naming it (`what`: the proxy.conf key) when it
 * cannot be read or has no `-----BEGIN …KIND-----` line (`PRIVATE KEY` also matches `RSA PRIVATE KEY`).
 */
export function readPem(file: string, what: string, kind = 'CERTIFICATE'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CertificateError(`${what} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, file);
  }
  if (!new RegExp(`-----BEGIN [A-Z0-9 ]*${kind}-----`).test(text)) {
    throw new CertificateError(`${what} ${file}: not PEM (no "-----BEGIN ${kind}-----" line)`, file);
  }
  return text;
}
