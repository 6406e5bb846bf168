import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type ConfigIssue } from '../src/config/index.js';

const SERVER = '[server pbx1]\nhost = 10.0.0.1\nusername = amiplex\nsecret = s\n';

function issues(text: string): string[] {
  try {
    parseConfig(text, 'proxy.conf');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i: ConfigIssue) => `${i.line} ${i.code}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('[cluster]', () => {
  it('is absent unless given: one process on its own', () => {
    expect(parseConfig(SERVER, 'proxy.conf').cluster).toBeUndefined();
  });

  it('reads the NATS servers, in order, with their defaults filled in', () => {
    const cfg = parseConfig(`${SERVER}[cluster]\nnats = nats://10.0.0.7:4222\nnats = tls://nats2.example.com\nnats = [::1]:4333\nnode = amiplex-a\n`, 'proxy.conf');
    expect(cfg.cluster).toEqual({
      nats: ['nats://10.0.0.7:4222', 'tls://nats2.example.com:4222', 'nats://[::1]:4333'],
      node: 'amiplex-a',
      name: 'amiplex',
      leaseTtl: 10,
    });
  });

  it('needs a NATS server, and refuses bad names and addresses with their lines', () => {
    expect(issues(`${SERVER}[cluster]\nnode = a.b\nname = x y\nlease_ttl = 0.5\n`)).toEqual([
      '5 MISSING_KEY: [cluster] is missing required key "nats"',
      '6 BAD_VALUE: bad value "a.b" for node: expected a name of letters, digits, "_" and "-"',
      '7 BAD_VALUE: bad value "x y" for name: expected a name of letters, digits, "_" and "-"',
      '8 BAD_VALUE: lease_ttl must be at least 1 second in [cluster]',
    ]);
    expect(issues(`${SERVER}[cluster]\nnats = http://x:1\nnats = x:70000\n`)).toEqual([
      '6 BAD_VALUE: bad value "http://x:1" for nats: expected a host name or IP address without a port',
      '7 BAD_VALUE: bad value "x:70000" for nats: port must be from 1 to 65535',
    ]);
  });

  it('keys that go together: user with password, tls_cert with tls_key, one way to log in', () => {
    expect(issues(`${SERVER}[cluster]\nnats = n:1\nuser = u\ntoken = t\ntls_key = k.pem\n`)).toEqual([
      '7 CONFLICT: user and password go together in [cluster]',
      '8 CONFLICT: [cluster] takes only one of user, token',
      '9 CONFLICT: tls_cert and tls_key go together in [cluster]',
    ]);
  });

  it('never echoes the password or token in an error', () => {
    const text = issues(`${SERVER}[cluster]\nnats = n:1\nnats = n:1\n[cluster]\npassword = hunter2\n`).join('\n');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('[cluster] may appear only once');
  });
});
