/**
 * `amiplex hash-secret`, run as a real process: the secret comes from standard input, the line
 * printed is accepted by proxy.conf as it is, and it verifies the secret (and nothing else).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifySecretHash } from '../src/access/secret-hash.js';
import { parseConfig } from '../src/config/index.js';

const CLI = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));

function hashSecret(input: string) {
  return spawnSync(process.execPath, [CLI, 'hash-secret'], { input, encoding: 'utf8', timeout: 20_000 });
}

describe('amiplex hash-secret', () => {
  it('prints a secret_hash line that proxy.conf takes and that verifies the piped secret', async () => {
    const run = hashSecret('s3cret; with blanks\n');
    expect(run.status).toBe(0);
    const line = run.stdout.trim();
    expect(line).toMatch(/^secret_hash = scrypt\$16384\$8\$1\$/);
    expect(run.stdout + run.stderr).not.toContain('s3cret');
    const hash = line.slice('secret_hash = '.length);
    const config = parseConfig(`[server pbx]\nhost = 127.0.0.1\nusername = u\nsecret = s\n[user alice]\n${line}\n`, 'test.conf');
    expect(config.users[0]!.secretHash).toBe(hash);
    expect(config.users[0]!.secret).toBeUndefined();
    expect(await verifySecretHash(hash, 's3cret; with blanks')).toBe(true);
    expect(await verifySecretHash(hash, 's3cret; with blanks\n')).toBe(false);
  });

  it('refuses an empty secret', () => {
    const run = hashSecret('\n');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('empty secret');
  });

  it('proxy.conf refuses a secret_hash whose cost would take too much memory', () => {
    const huge = 'scrypt$1048576$32$1$c2FsdHNhbHRzYWx0c2FsdA==$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdA==';
    expect(() => parseConfig(`[server pbx]\nhost = 127.0.0.1\nusername = u\nsecret = s\n[user alice]\nsecret_hash = ${huge}\n`, 'test.conf'))
      .toThrow(/test\.conf:6: .*256 MiB/);
  });
});
