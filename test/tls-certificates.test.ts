/**
 * certificates.ts and the certificate at start: generation (names, validity, key mode),
 * fingerprints as node:crypto computes them, pairs that are refused with the file named, and
 * `amiplex gen-cert` as a real process.
 */
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { silentLogger } from '../src/log.js';
import { fingerprint256, generateCertificate, readPemPair, writePemPair } from '../src/tls/certificates.js';
import { listenerTlsOptions, prepareServerTls } from '../src/tls/server-tls.js';
import { CLI } from './helpers/cli-process.js';
import { makeTestPki } from './helpers/test-certs.js';

const pki = makeTestPki();
const dirs: string[] = [];
afterAll(() => pki.remove());
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'amiplex-certs-'));
  dirs.push(d);
  return d;
}

const DAY = 86_400_000;

describe('generateCertificate', () => {
  it('makes a self-signed RSA 2048 certificate for localhost, the loopback addresses and the given name, valid about two years', () => {
    const pair = generateCertificate({ commonName: 'pbx-proxy.example', altNames: ['localhost', '127.0.0.1', '::1', 'pbx-proxy.example'] });
    const x = new X509Certificate(pair.cert);
    expect(x.subject).toContain('CN=pbx-proxy.example');
    expect(x.issuer).toBe(x.subject);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:pbx-proxy.example');
    const days = (Date.parse(x.validTo) - Date.now()) / DAY;
    expect(days).toBeGreaterThan(729);
    expect(days).toBeLessThan(731);
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('gives each certificate a random positive serial', () => {
    const a = new X509Certificate(generateCertificate().cert).serialNumber;
    const b = new X509Certificate(generateCertificate().cert).serialNumber;
    expect(a).not.toBe(b);
    expect(Number.parseInt(a.slice(0, 2), 16)).toBeLessThan(0x80);
  });

  it('signs with a CA when given one: the chain verifies against the CA, not against another', () => {
    const leaf = new X509Certificate(pki.server.cert);
    expect(leaf.checkIssued(new X509Certificate(pki.ca.cert))).toBe(true);
    expect(leaf.verify(new X509Certificate(pki.ca.cert).publicKey)).toBe(true);
    expect(leaf.verify(new X509Certificate(pki.otherCa.cert).publicKey)).toBe(false);
    expect(new X509Certificate(pki.ca.cert).ca).toBe(true);
    expect(leaf.ca).toBe(false);
  });
});

describe('fingerprint256', () => {
  it('is the SHA-256 fingerprint node:crypto (and openssl) print, colon hex', () => {
    for (const cert of [generateCertificate().cert, pki.server.cert, pki.ca.cert]) {
      const fp = fingerprint256(cert);
      expect(fp).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(fp).toBe(new X509Certificate(cert).fingerprint256);
      // Worked out here from the PEM's DER, independently of node's X509Certificate.
      const der = Buffer.from(cert.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      expect(fp).toBe(createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':'));
    }
  });
});

describe('writePemPair and readPemPair', () => {
  it('creates the folder, writes the key readable by its owner only, and reads the pair back', () => {
    const dir = join(tempDir(), 'nested', 'certs');
    const pair = generateCertificate();
    writePemPair(pair, join(dir, 'a.pem'), join(dir, 'a.key'));
    expect(statSync(join(dir, 'a.key')).mode & 0o777).toBe(0o600);
    expect(readPemPair(join(dir, 'a.pem'), join(dir, 'a.key'))).toEqual(pair);
  });

  it('refuses a key that is not the certificate\'s, a file that is not PEM, and a missing file, naming the file', () => {
    const dir = tempDir();
    const notPem = join(dir, 'junk.pem');
    writeFileSync(notPem, 'hello\n');
    expect(() => readPemPair(pki.server.certFile, pki.client.keyFile)).toThrow(`tls_key ${pki.client.keyFile} is not the key of the certificate in tls_cert ${pki.server.certFile}`);
    expect(() => readPemPair(notPem, pki.server.keyFile)).toThrow(`tls_cert ${notPem}: not PEM`);
    expect(() => readPemPair(pki.server.certFile, notPem)).toThrow(`tls_key ${notPem}: not PEM`);
    expect(() => readPemPair(join(dir, 'none.pem'), pki.server.keyFile)).toThrow(`tls_cert ${join(dir, 'none.pem')}: cannot be read (ENOENT)`);
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(() => readPemPair(broken, pki.server.keyFile)).toThrow(`tls_cert ${broken}: not a valid PEM certificate`);
  });
});

describe('the certificate at start', () => {
  const conf = (dir: string, general: string) =>
    parseConfig(`[general]\n${general}\n[server pbx]\nhost = 127.0.0.1\nusername = u\nsecret = s\n`, join(dir, 'proxy.conf'));

  it('generates certs/amiplex.pem and .key next to proxy.conf when both are missing and a TLS listener is configured, and logs the fingerprint', () => {
    const dir = tempDir();
    const lines: Record<string, unknown>[] = [];
    const log = { ...silentLogger(), info: (o: Record<string, unknown>) => lines.push(o) } as unknown as Parameters<typeof prepareServerTls>[1];
    const material = prepareServerTls(conf(dir, 'listen_tls = 127.0.0.1:0'), log)!;
    expect(material.certPath).toBe(join(dir, 'certs', 'amiplex.pem'));
    expect(statSync(join(dir, 'certs', 'amiplex.key')).mode & 0o777).toBe(0o600);
    expect(material.fingerprint).toBe(new X509Certificate(readFileSync(material.certPath)).fingerprint256);
    expect(lines).toEqual([expect.objectContaining({ fingerprint: material.fingerprint, cert: material.certPath })]);
    // The second start reads the same pair.
    expect(prepareServerTls(conf(dir, 'listen_tls = 127.0.0.1:0'), silentLogger())!.fingerprint).toBe(material.fingerprint);
  });

  it('generates nothing when no listener speaks TLS', () => {
    const dir = tempDir();
    expect(prepareServerTls(conf(dir, 'listen = 127.0.0.1:0'), silentLogger())).toBeUndefined();
    expect(existsSync(join(dir, 'certs'))).toBe(false);
  });

  it('refuses half a pair, naming the missing file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'only.pem'), pki.server.cert);
    expect(() => prepareServerTls(conf(dir, 'https = 127.0.0.1:0\ntls_cert = only.pem\ntls_key = only.key'), silentLogger()))
      .toThrow(`tls_key ${join(dir, 'only.key')} is missing but tls_cert ${join(dir, 'only.pem')} exists`);
    expect(existsSync(join(dir, 'only.key'))).toBe(false);
  });
});

describe('tls_client_ca', () => {
  it('is read relative to proxy.conf; a missing or non-CA file stops the start, naming it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'clients.pem'), pki.ca.cert);
    const config = parseConfig('[general]\nlisten_tls = 127.0.0.1:0\n[server pbx]\nhost = 127.0.0.1\nusername = u\nsecret = s\n', join(dir, 'proxy.conf'));
    const material = { certPath: pki.server.certFile, keyPath: pki.server.keyFile, cert: pki.server.cert, key: pki.server.key, fingerprint: '' };
    expect(listenerTlsOptions(config, material, 'clients.pem')).toMatchObject({ ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
    expect(listenerTlsOptions(config, material, undefined)).toMatchObject({ requestCert: false });
    expect(() => listenerTlsOptions(config, material, 'none.pem')).toThrow(`tls_client_ca ${join(dir, 'none.pem')}: cannot be read (ENOENT)`);
    writeFileSync(join(dir, 'key.pem'), pki.ca.key);
    expect(() => listenerTlsOptions(config, material, 'key.pem')).toThrow(`tls_client_ca ${join(dir, 'key.pem')}: not PEM (no "-----BEGIN CERTIFICATE-----" line)`);
  });
});

describe('amiplex gen-cert', () => {
  const genCert = (dir: string, ...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'gen-cert', '--config', join(dir, 'proxy.conf'), ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });

  it('writes tls_cert and tls_key of proxy.conf, prints them and the fingerprint; refuses to overwrite without --force', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'proxy.conf'), '[general]\ntls_cert = tls/me.pem\ntls_key = tls/me.key\n[server pbx]\nhost = 127.0.0.1\nusername = u\nsecret = s\n');
    const run = genCert(dir, '--cn', 'ami.example.org', '--days', '30');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const certFile = join(dir, 'tls', 'me.pem');
    const x = new X509Certificate(readFileSync(certFile));
    expect(run.stdout).toContain(certFile);
    expect(run.stdout).toContain(join(dir, 'tls', 'me.key'));
    expect(run.stdout).toContain(`SHA-256 fingerprint: ${x.fingerprint256}`);
    expect(x.subject).toContain('CN=ami.example.org');
    expect(x.checkHost('ami.example.org')).toBe('ami.example.org');
    expect((Date.parse(x.validTo) - Date.now()) / DAY).toBeLessThan(31);
    expect(readPemPair(certFile, join(dir, 'tls', 'me.key')).cert).toBe(readFileSync(certFile, 'utf8'));

    const again = genCert(dir);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already exist');
    expect(again.stderr).toContain('--force');
    expect(new X509Certificate(readFileSync(certFile)).fingerprint256).toBe(x.fingerprint256);

    const forced = genCert(dir, '--force');
    expect(forced.status).toBe(0);
    expect(new X509Certificate(readFileSync(certFile)).fingerprint256).not.toBe(x.fingerprint256);
  });

  it('reports a bad proxy.conf as --check does', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'proxy.conf'), '[general]\ntls_crt = x\n');
    const run = genCert(dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('proxy.conf:2');
    expect(existsSync(join(dir, 'certs'))).toBe(false);
  });
});
