/**
 * Address ACLs (src/access/acl.ts): the network forms proxy.conf takes, most-specific-wins,
 * IPv6, and IPv4-mapped addresses as dual-stack sockets report IPv4 peers.
 */
import { describe, expect, it } from 'vitest';

import { checkNetwork, compileAcl, parseAddress } from '../src/access/acl.js';

describe('checkNetwork', () => {
  it('accepts addresses, prefixes and netmasks, IPv4 and IPv6', () => {
    for (const n of [
      '10.0.0.0/8', '10.0.0.0/255.0.0.0', '192.0.2.7', '192.0.2.7/32', '0.0.0.0/0', '0.0.0.0/0.0.0.0',
      '2001:db8::/32', '::1', '::/0', 'fe80::1%eth0', '::ffff:10.0.0.0/104', '2001:db8:0:0:0:0:0:1/128',
    ]) {
      expect(checkNetwork(n), n).toEqual({ ok: true, value: n });
    }
  });

  it('refuses what is not a network, with a reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['10.0.0.0/33', /longer than 32 bits/],
      ['::1/129', /longer than 128 bits/],
      ['10.0.0.0/255.0.255.0', /not contiguous/],
      ['10.0.0.0/', /bad prefix or netmask/],
      ['2001:db8::/ffff::', /bad prefix or netmask/],
      ['300.1.1.1', /expected an IPv4 or IPv6 address/],
      ['pbx.example.com', /expected an IPv4 or IPv6 address/],
      ['::ffff:10.0.0.0/64', /IPv4-mapped/],
    ];
    for (const [n, reason] of cases) {
      const r = checkNetwork(n);
      expect(r.ok, n).toBe(false);
      if (!r.ok) expect(r.reason, n).toMatch(reason);
    }
  });

  it('compileAcl refuses an unchecked bad network', () => {
    expect(() => compileAcl(['10.0.0.0/40'])).toThrow(/bad network/);
  });
});

describe('parseAddress', () => {
  it('IPv4-mapped IPv6, in any spelling, is the IPv4 address', () => {
    const v4 = parseAddress('10.1.2.3');
    expect(v4).toMatchObject({ v6: false });
    for (const a of ['::ffff:10.1.2.3', '::FFFF:10.1.2.3', '::ffff:a01:203', '0:0:0:0:0:ffff:10.1.2.3']) {
      expect(parseAddress(a), a).toMatchObject({ v6: false, value: v4!.value });
    }
    expect(parseAddress('2001:db8::1')).toMatchObject({ v6: true });
    expect(parseAddress('2001:db8::1')!.value).toBe(parseAddress('2001:0db8:0:0:0:0:0:1')!.value);
    expect(parseAddress('fe80::1%eth0')!.value).toBe(parseAddress('fe80::1')!.value);
    expect(parseAddress('nonsense')).toBeUndefined();
  });
});

describe('compileAcl', () => {
  it('no rules: open, everything allowed', () => {
    const acl = compileAcl();
    expect(acl.open).toBe(true);
    expect([acl.allows('10.0.0.1'), acl.allows('::1'), acl.allows(undefined)]).toEqual([true, true, true]);
  });

  it('manager.conf’s usual deny-all + permit, in either order', () => {
    for (const acl of [compileAcl(['10.0.0.0/8'], ['0.0.0.0/0.0.0.0']), compileAcl(['10.0.0.0/255.0.0.0'], ['0.0.0.0/0'])]) {
      expect(acl.open).toBe(false);
      expect(acl.allows('10.1.2.3')).toBe(true);
      expect(acl.allows('192.168.1.1')).toBe(false);
      expect(acl.allows('::ffff:10.1.2.3')).toBe(true);
      expect(acl.allows('::ffff:192.168.1.1')).toBe(false);
    }
  });

  it('permit rules only: an address no rule matches is refused; deny rules only: allowed', () => {
    const permit = compileAcl(['192.0.2.0/24']);
    expect([permit.allows('192.0.2.9'), permit.allows('198.51.100.1')]).toEqual([true, false]);
    const deny = compileAcl([], ['192.0.2.0/24']);
    expect([deny.allows('192.0.2.9'), deny.allows('198.51.100.1')]).toEqual([false, true]);
  });

  it('the most specific rule wins, whatever the order', () => {
    const acl = compileAcl(['10.1.2.0/24', '10.0.0.0/8'], ['10.1.0.0/16']);
    expect(acl.allows('10.1.2.3')).toBe(true);
    expect(acl.allows('10.1.3.3')).toBe(false);
    expect(acl.allows('10.2.0.1')).toBe(true);
    expect(acl.allows('11.0.0.1')).toBe(false);
    const host = compileAcl(['10.0.0.0/8'], ['10.9.9.9']);
    expect([host.allows('10.9.9.9'), host.allows('10.9.9.8')]).toEqual([false, true]);
  });

  it('a permit and a deny of the same network: deny', () => {
    const acl = compileAcl(['10.0.0.0/8'], ['10.0.0.0/255.0.0.0']);
    expect(acl.allows('10.0.0.1')).toBe(false);
  });

  it('bits below the prefix are ignored (10.1.2.3/8 is 10.0.0.0/8)', () => {
    const acl = compileAcl(['10.1.2.3/8']);
    expect(acl.allows('10.200.0.1')).toBe(true);
  });

  it('IPv6 networks, and IPv4 rules never match IPv6 peers (and the reverse)', () => {
    const acl = compileAcl(['2001:db8::/32', '::1'], ['::/0']);
    expect(acl.allows('2001:db8:1::5')).toBe(true);
    expect(acl.allows('2001:db9::5')).toBe(false);
    expect(acl.allows('::1')).toBe(true);
    // An IPv4 peer matches no IPv6 rule; with permit rules present it is refused.
    expect(acl.allows('127.0.0.1')).toBe(false);
    const v4 = compileAcl(['127.0.0.1']);
    expect(v4.allows('::1')).toBe(false);
  });

  it('an IPv4-mapped network written with an IPv6 prefix is the IPv4 network', () => {
    const acl = compileAcl(['::ffff:10.0.0.0/104']);
    expect([acl.allows('10.3.4.5'), acl.allows('::ffff:10.3.4.5'), acl.allows('11.0.0.1')]).toEqual([true, true, false]);
  });

  it('link-local with a zone id', () => {
    const acl = compileAcl(['fe80::/10'], ['::/0']);
    expect(acl.allows('fe80::1%eth0')).toBe(true);
  });

  it('an address that is not an IP, or none, is refused when there are rules', () => {
    const acl = compileAcl([], ['192.0.2.0/24']);
    expect(acl.allows(undefined)).toBe(false);
    expect(acl.allows('localhost')).toBe(false);
  });
});
