/**
 * Address ACLs: `permit` and `deny` lists of IPv4 and IPv6 networks, as manager.conf writes
 * them (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `192.0.2.7`, `2001:db8::/32`, `::1`).
 *
 * The most specific matching rule decides (longest prefix), so the order of the lines does
 * not matter and manager.conf's usual `deny = 0.0.0.0/0.0.0.0` + `permit = 10.0.0.0/8` means
 * what it says. A tie between a permit and a deny of the same network denies. An address no
 * rule matches is allowed when the ACL has no permit rule, refused when it has one.
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, as dual-stack sockets report IPv4 peers)
 * are matched as IPv4. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';

interface Network {
  readonly v6: boolean;
  readonly base: bigint;
  readonly prefix: number;
}

interface Rule extends Network {
  readonly permit: boolean;
}

export interface Acl {
  /** Whether `address` (as a socket reports it) may connect. */
  allows(address: string | undefined): boolean;
  /** True when the ACL has no rule at all (everything allowed). */
  readonly open: boolean;
}

export type NetworkParse = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: string };

/** Checks one network as written in proxy.conf; returns it unchanged when it is valid. */
export function checkNetwork(text: string): NetworkParse {
  const n = parseNetwork(text);
  return typeof n === 'string' ? { ok: false, reason: n } : { ok: true, value: text };
}

/** An ACL from permit and deny networks (each already checked with checkNetwork). */
export function compileAcl(permit: readonly string[] = [], deny: readonly string[] = []): Acl {
  const rules: Rule[] = [];
  for (const [list, sense] of [[permit, true], [deny, false]] as const) {
    for (const text of list) {
      const n = parseNetwork(text);
      if (typeof n === 'string') throw new Error(`bad network "${text}": ${n}`);
      rules.push({ ...n, permit: sense });
    }
  }
  const anyPermit = rules.some((r) => r.permit);
  return {
    open: rules.length === 0,
    allows(address) {
      if (rules.length === 0) return true;
      const a = address === undefined ? undefined : parseAddress(address);
      if (a === undefined) return false;
      let best: Rule | undefined;
      for (const r of rules) {
        if (r.v6 !== a.v6 || !contains(r, a.value)) continue;
        if (best === undefined || r.prefix > best.prefix || (r.prefix === best.prefix && !r.permit)) best = r;
      }
      return best === undefined ? !anyPermit : best.permit;
    },
  };
}

/**
 * Whether an address ACL admits only some addresses: it has a permit line, and none of them is
 * every address (a /0). Checked networks only (see checkNetwork).
 */
export function limitsAddresses(permit: readonly string[] = []): boolean {
  return permit.length > 0 && permit.every((text) => {
    const n = parseNetwork(text);
    return typeof n !== 'string' && n.prefix > 0;
  });
}

/** Whether a listen host is a loopback address (127.0.0.0/8, ::1, localhost): only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const a = parseAddress(host);
  return a !== undefined && (a.v6 ? a.value === 1n : a.value >> 24n === 127n);
}

function contains(n: Network, value: bigint): boolean {
  const bits = n.v6 ? 128 : 32;
  const shift = BigInt(bits - n.prefix);
  return value >> shift === n.base >> shift;
}

/** An address as a socket reports it, IPv4-mapped IPv6 taken as IPv4; undefined if not an IP. */
export function parseAddress(address: string): { v6: boolean; value: bigint; mapped?: boolean } | undefined {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (isIPv4(text)) return { v6: false, value: ipv4Value(text) };
  if (!isIPv6(text)) return undefined;
  const value = ipv6Value(text);
  // IPv4-mapped (::ffff:a.b.c.d, also written ::ffff:7f00:1 or in full) is the IPv4 address.
  if (value >> 32n === 0xffffn) return { v6: false, value: value & 0xffffffffn, mapped: true };
  return { v6: true, value };
}

function parseNetwork(text: string): Network | string {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const address = parseAddress(addressText);
  if (address === undefined) return 'expected an IPv4 or IPv6 address, optionally with /PREFIX or /NETMASK';
  const bits = address.v6 ? 128 : 32;
  let prefix = bits;
  if (maskText !== undefined) {
    if (/^\d+$/.test(maskText)) {
      prefix = Number(maskText);
      // An IPv4-mapped network written with an IPv6 prefix (::ffff:10.0.0.0/104) is 10.0.0.0/8.
      if (address.mapped && prefix > 32 && prefix >= 96 && prefix <= 128) prefix -= 96;
      else if (address.mapped && prefix > 32) return `prefix /${maskText} of an IPv4-mapped address must be from 96 to 128`;
      if (prefix > bits) return `prefix /${maskText} is longer than ${bits} bits`;
    } else if (!address.v6 && isIPv4(maskText)) {
      const mask = ipv4Value(maskText);
      prefix = prefixOfMask(mask);
      if (prefix < 0) return `netmask ${maskText} is not contiguous`;
    } else {
      return `bad prefix or netmask "/${maskText}"`;
    }
  }
  // Bits below the prefix are ignored, as Asterisk does (10.1.2.3/8 is 10.0.0.0/8).
  const shift = BigInt(bits - prefix);
  return { v6: address.v6, base: (address.value >> shift) << shift, prefix };
}

function prefixOfMask(mask: bigint): number {
  let prefix = 0;
  for (let bit = 31; bit >= 0 && (mask >> BigInt(bit)) & 1n; bit--) prefix++;
  const expected = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(32 - prefix);
  return mask === expected ? prefix : -1;
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(text: string): bigint {
  let t = text;
  // A trailing dotted IPv4 part (::ffff:1.2.3.4 forms not caught above, 64:ff9b::1.2.3.4).
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted) {
    const v4 = ipv4Value(dotted[1]!);
    t = `${t.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(zeros).fill('0'), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(Number.parseInt(part, 16)), 0n);
}
