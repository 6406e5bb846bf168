/**
 * A small PKI for TLS tests, made at test time with amiplex's own certificates.ts into a temp
 * folder: a CA, a server certificate it signed (localhost, 127.0.0.1, ::1), a client
 * certificate it signed, and a client certificate signed by another CA (the wrong one).
 *
 *   const pki = makeTestPki();           // files in pki.dir
 *   afterAll(() => pki.remove());
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificate, writePemPair, type PemPair } from '../../src/tls/certificates.js';

export interface PemFiles extends PemPair {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestPki {
  readonly dir: string;
  /** The CA (its certificate alone in `ca.certFile`). */
  readonly ca: PemFiles;
  /** Another CA, which signed nothing amiplex trusts. */
  readonly otherCa: PemFiles;
  /** A server certificate the CA signed, for localhost, 127.0.0.1 and ::1. */
  readonly server: PemFiles;
  /** A client certificate the CA signed. */
  readonly client: PemFiles;
  /** A client certificate the other CA signed. */
  readonly rogueClient: PemFiles;
  remove(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'amiplex-pki-'));
  const save = (name: string, pair: PemPair): PemFiles => {
    const certFile = join(dir, `${name}.pem`);
    const keyFile = join(dir, `${name}.key`);
    writePemPair(pair, certFile, keyFile);
    return { ...pair, certFile, keyFile };
  };
  const ca = save('ca', generateCertificate({ commonName: 'amiplex test CA', ca: true }));
  const otherCa = save('other-ca', generateCertificate({ commonName: 'some other CA', ca: true }));
  const server = save('server', generateCertificate({ commonName: 'localhost', altNames: ['localhost', '127.0.0.1', '::1'], usage: ['server'], issuer: ca }));
  const client = save('client', generateCertificate({ commonName: 'client one', altNames: [], usage: ['client'], issuer: ca }));
  const rogueClient = save('rogue-client', generateCertificate({ commonName: 'rogue client', altNames: [], usage: ['client'], issuer: otherCa }));
  return { dir, ca, otherCa, server, client, rogueClient, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes text to a file of the PKI's folder (e.g. a broken PEM); returns its path. */
export function writeTestFile(pki: TestPki, name: string, text: string): string {
  const file = join(pki.dir, name);
  writeFileSync(file, text);
  return file;
}
