import { describe, expect, it } from 'vitest';
import { formatHostPort, parseHost, parseHostPort } from '../src/config/host-port.js';
import { closest, editDistance } from '../src/config/suggest.js';
import type { ValueKind } from '../src/config/values.js';
import {
  boolean, byteSize, duration, formatBytes, host, hostPort, integer, list, MAX_DURATION_SECONDS, name, nonEmptyText,
  oneOf, text,
} from '../src/config/values.js';

function good<T>(kind: ValueKind<T>, input: string): T {
  const r = kind.parse(input);
  if (!r.ok) throw new Error(`"${input}" refused: ${r.reason}`);
  return r.value;
}

function bad<T>(kind: ValueKind<T>, input: string): string {
  const r = kind.parse(input);
  if (r.ok) throw new Error(`"${input}" accepted as ${JSON.stringify(r.value)}`);
  return r.reason;
}

describe('value kinds', () => {
  it('text takes anything, the empty string included', () => {
    expect(good(text(), '')).toBe('');
    expect(good(text(), 'A b;C')).toBe('A b;C');
  });

  it('nonEmptyText refuses only the empty string and keeps case', () => {
    expect(good(nonEmptyText(), 'MiXeD')).toBe('MiXeD');
    expect(bad(nonEmptyText(), '')).toBe('expected a non-empty text');
  });

  it('name takes letters, digits, "_", "." and "-"', () => {
    expect(good(name(), 'pbx-1.eu_West')).toBe('pbx-1.eu_West');
    for (const s of ['', 'a b', 'a/b', 'ä']) bad(name(), s);
  });

  it('integer checks syntax and range', () => {
    const k = integer(1, 65535);
    expect(good(k, '1')).toBe(1);
    expect(good(k, '65535')).toBe(65535);
    expect(good(k, '007')).toBe(7);
    expect(good(integer(-5, 5), '-5')).toBe(-5);
    for (const s of ['0', '65536', '1.5', '1e3', '0x10', ' ', '', '+1', '12abc', '99999999999999999999']) {
      expect(bad(k, s)).toBe('expected an integer from 1 to 65535');
    }
  });

  it('duration takes seconds with up to 3 decimals', () => {
    const k = duration();
    expect(good(k, '0')).toBe(0);
    expect(good(k, '30')).toBe(30);
    expect(good(k, '0.5')).toBe(0.5);
    expect(good(k, '1.250')).toBe(1.25);
    expect(good(k, String(MAX_DURATION_SECONDS))).toBe(MAX_DURATION_SECONDS);
    for (const s of ['', '-1', '.5', '5.', '1s', '30 s', '1,5', 'abc', String(MAX_DURATION_SECONDS + 1)]) {
      expect(bad(k, s)).toMatch(/^expected a number of seconds from 0/);
    }
    expect(bad(k, '0.0001')).toBe('at most 3 decimal places: durations count in milliseconds');
  });

  it('a positive duration refuses 0 but takes small values', () => {
    const k = duration({ positive: true });
    expect(good(k, '0.001')).toBe(0.001);
    expect(bad(k, '0')).toMatch(/^expected a number of seconds greater than 0/);
    expect(bad(k, '0.000')).toMatch(/greater than 0/);
    expect(bad(duration({ max: 60 }), '61')).toMatch(/up to 60/);
  });

  it('byteSize takes bytes or K, M, G binary multiples', () => {
    const k = byteSize(1024, 4 * 1024 ** 3);
    expect(good(k, '1024')).toBe(1024);
    expect(good(k, '512K')).toBe(512 * 1024);
    expect(good(k, '4M')).toBe(4 * 1024 * 1024);
    expect(good(k, '4m')).toBe(4 * 1024 * 1024);
    expect(good(k, '2G')).toBe(2 * 1024 ** 3);
    expect(good(k, '4G')).toBe(4 * 1024 ** 3);
    for (const s of ['', '1023', '0', '5G', '1.5M', '4MB', '4 M', 'K', '-1K', '4T', 'lots']) {
      expect(bad(k, s)).toBe('expected a size in bytes from 1K to 4G, such as 65536, 512K or 4M');
    }
  });

  it('formatBytes uses the largest whole suffix', () => {
    expect(formatBytes(1024 ** 2)).toBe('1M');
    expect(formatBytes(1536)).toBe('1536');
    expect(formatBytes(3 * 1024)).toBe('3K');
  });

  it('boolean takes yes/no, true/false, on/off, 1/0 in any case', () => {
    for (const s of ['yes', 'YES', 'True', 'on', 'On', '1']) expect(good(boolean(), s)).toBe(true);
    for (const s of ['no', 'No', 'FALSE', 'off', '0']) expect(good(boolean(), s)).toBe(false);
    for (const s of ['', 'y', 'n', '2', 'enabled', 'yes please']) {
      expect(bad(boolean(), s)).toBe('expected yes or no (or true/false, on/off, 1/0)');
    }
  });

  it('list splits on commas, trims items, refuses empty items and repeats', () => {
    const k = list(name());
    expect(good(k, 'a')).toEqual(['a']);
    expect(good(k, 'pbx1 , pbx2,pbx3')).toEqual(['pbx1', 'pbx2', 'pbx3']);
    expect(bad(k, '')).toBe('empty item in list (check the commas)');
    expect(bad(k, 'a,,b')).toBe('empty item in list (check the commas)');
    expect(bad(k, 'a,')).toBe('empty item in list (check the commas)');
    expect(bad(k, 'a, b c')).toBe('item "b c": expected a name of letters, digits, "_", "." and "-"');
    expect(bad(k, 'a, b, a')).toBe('"a" is listed twice');
    // Case is kept and matters.
    expect(good(k, 'a, A')).toEqual(['a', 'A']);
  });

  it('oneOf matches exactly and hints at a case slip', () => {
    const k = oneOf(['plain', 'md5'] as const);
    expect(good(k, 'md5')).toBe('md5');
    expect(bad(k, 'MD5')).toBe('expected one of plain, md5 (case matters: "md5")');
    expect(bad(k, 'sha1')).toBe('expected one of plain, md5');
    expect(bad(k, '')).toBe('expected one of plain, md5');
  });

  it('host takes names and addresses without a port', () => {
    expect(good(host(), 'pbx.example.com')).toBe('pbx.example.com');
    expect(good(host(), 'PBX-1.Example.com.')).toBe('PBX-1.Example.com.');
    expect(good(host(), 'localhost')).toBe('localhost');
    expect(good(host(), '10.0.0.1')).toBe('10.0.0.1');
    expect(good(host(), '::1')).toBe('::1');
    expect(good(host(), '[fe80::1]')).toBe('fe80::1');
    expect(bad(host(), '10.0.0.1:5038')).toBe('expected a host name or IP address without a port');
    expect(bad(host(), '10.0.0.256')).toBe('"10.0.0.256" is not an IPv4 address');
    expect(bad(host(), '1.2.3')).toBe('"1.2.3" is not an IPv4 address');
    expect(bad(host(), '[1.2.3.4]')).toBe('"1.2.3.4" is not an IPv6 address');
    expect(bad(host(), 'pbx one')).toBe('"pbx one" is not a valid host name');
    expect(bad(host(), '-pbx')).toBe('"-pbx" is not a valid host name');
    expect(bad(host(), 'a..b')).toBe('"a..b" is not a valid host name');
    expect(bad(host(), '')).toBe('expected a host name or IP address');
  });
});

describe('HOST:PORT', () => {
  it('parses IPv4, bracketed IPv6 and host names', () => {
    expect(good(hostPort(), '127.0.0.1:1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(good(hostPort(), '[::1]:1234')).toEqual({ host: '::1', port: 1234 });
    expect(good(hostPort(), '[::]:5038')).toEqual({ host: '::', port: 5038 });
    expect(good(hostPort(), '0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(good(hostPort(), 'pbx.example.com:65535')).toEqual({ host: 'pbx.example.com', port: 65535 });
  });

  it('refuses what cannot be bound or is ambiguous', () => {
    expect(bad(hostPort(), '127.0.0.1')).toBe('expected HOST:PORT, such as 127.0.0.1:1234');
    expect(bad(hostPort(), '::1:1234')).toBe('an IPv6 address must be in brackets, such as [::1]:1234');
    expect(bad(hostPort(), '[::1]')).toBe('expected [IPv6]:PORT, such as [::1]:1234');
    expect(bad(hostPort(), '[::1]1234')).toBe('expected [IPv6]:PORT, such as [::1]:1234');
    expect(bad(hostPort(), '[nope]:1')).toBe('"nope" is not an IPv6 address');
    expect(bad(hostPort(), ':1234')).toBe('missing host (0.0.0.0 or [::] listen on every interface)');
    expect(bad(hostPort(), '127.0.0.1:65536')).toBe('expected a port from 0 to 65535 after the host, got "65536"');
    expect(bad(hostPort(), '127.0.0.1:')).toBe('expected a port from 0 to 65535 after the host, got ""');
    expect(bad(hostPort(), '127.0.0.1:12a')).toBe('expected a port from 0 to 65535 after the host, got "12a"');
    expect(bad(hostPort(), '300.0.0.1:1')).toBe('"300.0.0.1" is not an IPv4 address');
    expect(bad(hostPort(), 'a b:1')).toBe('"a b" is not a valid host name');
  });

  it('formats IPv6 in brackets', () => {
    expect(formatHostPort({ host: '::1', port: 1234 })).toBe('[::1]:1234');
    expect(formatHostPort({ host: '127.0.0.1', port: 0 })).toBe('127.0.0.1:0');
    expect(formatHostPort({ host: 'pbx', port: 5038 })).toBe('pbx:5038');
  });

  it('round-trips through formatHostPort', () => {
    for (const s of ['127.0.0.1:1234', '[::1]:1', '[2001:db8::5]:5038', 'pbx.example.com:0']) {
      const r = parseHostPort(s);
      expect(r.ok && formatHostPort(r.value)).toBe(s);
    }
    expect(parseHost('[::1]')).toEqual({ ok: true, value: '::1' });
  });
});

describe('suggestions', () => {
  it('counts a transposition as one edit', () => {
    expect(editDistance('host', 'hots')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('finds near names only', () => {
    expect(closest('hots', ['host', 'port'])).toBe('host');
    expect(closest('Secert', ['secret', 'servers'])).toBe('secret');
    expect(closest('xyz', ['host', 'port'])).toBeUndefined();
  });
});
