/**
 * From sections to a ProxyConfig: gathers [general], [server] and [user] sections, resolves
 * each user's servers and checks the settings that depend on each other. Pure; every issue
 * is collected, and a config is returned only when there is none.
 */
import type { ConfigIssue, ConfigIssueCode } from './errors.js';
import { formatHostPort } from './host-port.js';
import type { IniEntry } from './ini.js';
import type { ReadSection } from './sections.js';
import { defaultSection, readSections, sectionLabel } from './sections.js';
import { didYouMean } from './suggest.js';
import { isLoopbackHost, limitsAddresses } from '../access/acl.js';
import type { ClusterConfig, GeneralConfig, HostPort, ListenerConfig, ProxyConfig, ServerConfig, UserConfig } from './types.js';

export type ValidateResult =
  | { readonly ok: true; readonly config: ProxyConfig }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

/** Validates tokenized proxy.conf entries. The config it returns is not frozen yet. */
export function validateEntries(entries: readonly IniEntry[], file: string): ValidateResult {
  const issues: ConfigIssue[] = [];
  const report = (line: number, code: ConfigIssueCode, message: string): void => {
    issues.push({ file, line, code, message });
  };
  const sections = readSections(entries, file, issues);
  const general = sections.find((s) => s.type === 'general') ?? defaultSection('general');
  const servers = sections.filter((s) => s.type === 'server');
  const users = sections.filter((s) => s.type === 'user');
  const listeners = sections.filter((s) => s.type === 'listener');
  const cluster = sections.find((s) => s.type === 'cluster');

  const anyServerHeader = entries.some((e) => e.type === 'section' && e.header.split(/\s+/)[0] === 'server');
  if (servers.length === 0 && !anyServerHeader) {
    report(0, 'NO_SERVER', 'no [server NAME] section: amiplex needs at least one PBX');
  }
  checkOrder(general, 'clientBuffer', 'client_buffer', 'clientBufferMax', 'client_buffer_max', report);
  checkOrder(general, 'clientBufferMax', 'client_buffer_max', 'clientBufferTotal', 'client_buffer_total', report);
  checkListen(general, listeners, report);
  for (const s of servers) checkOrder(s, 'reconnectMin', 'reconnect_min', 'reconnectMax', 'reconnect_max', report);
  const serverNames = servers.map((s) => s.name!);
  const resolved = users.map((u) => resolveServers(u, serverNames, report));
  const userNames = users.map((u) => u.name!);
  for (const l of listeners) {
    if (l.fields['tlsClientCa'] !== undefined && l.fields['tls'] !== true) {
      report(lineOf(l, 'tlsClientCa'), 'CONFLICT', `tls_client_ca needs tls = yes in ${sectionLabel(l.type, l.name)}`);
    }
    checkListenerUsers(l, userNames, report);
  }

  if (cluster !== undefined) checkCluster(cluster, report);

  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: {
      general: general.fields as unknown as GeneralConfig,
      servers: servers.map((s) => ({ name: s.name!, ...s.fields }) as unknown as ServerConfig),
      users: users.map((u, i) => ({ name: u.name!, ...u.fields, servers: resolved[i]! }) as unknown as UserConfig),
      listeners: listeners.map((l) => ({ name: l.name!, ...l.fields }) as unknown as ListenerConfig),
      ...(cluster === undefined ? {} : { cluster: cluster.fields as unknown as ClusterConfig }),
      file,
    },
  };
}

type Report = (line: number, code: ConfigIssueCode, message: string) => void;

/** The line to blame for a field: where it was last given, else the section header. */
function lineOf(s: ReadSection, ...fields: string[]): number {
  const lines = fields.flatMap((f) => s.lines.get(f) ?? []);
  return lines.length > 0 ? Math.max(...lines) : s.line;
}

/** `low` must not exceed `high` (both numbers; skipped when either value was bad). */
function checkOrder(
  s: ReadSection,
  low: string,
  lowKey: string,
  high: string,
  highKey: string,
  report: Report,
): void {
  const a = s.fields[low];
  const b = s.fields[high];
  if (typeof a === 'number' && typeof b === 'number' && a > b) {
    report(lineOf(s, low, high), 'CONFLICT',
      `${lowKey} (${a}) is greater than ${highKey} (${b}) in ${sectionLabel(s.type, s.name)}`);
  }
}

/** The same address twice cannot be bound; port 0 asks for a fresh port each time, so it may repeat. */
function checkListen(general: ReadSection, listeners: readonly ReadSection[], report: Report): void {
  const given: Array<[HostPort, number]> = [];
  // Every address amiplex listens on: raw AMI, AMI over TLS, HTTP, HTTPS.
  for (const field of ['listen', 'listenTls', 'http', 'https']) {
    const addresses = general.fields[field];
    const lines = general.lines.get(field);
    if (Array.isArray(addresses) && lines !== undefined && addresses.length === lines.length) {
      addresses.forEach((hp: HostPort, i) => given.push([hp, lines[i]!]));
    }
  }
  for (const l of listeners) {
    const hp = l.fields['listen'] as HostPort | undefined;
    if (hp !== undefined && typeof hp === 'object') given.push([hp, lineOf(l, 'listen')]);
  }
  given.sort((a, b) => a[1] - b[1]);
  const first = new Map<string, number>();
  for (const [hp, line] of given) {
    if (hp.port === 0) continue;
    const id = formatHostPort(hp).toLowerCase();
    const seen = first.get(id);
    if (seen === undefined) first.set(id, line);
    else report(line, 'DUPLICATE_LISTEN', `listen address ${formatHostPort(hp)} given twice (first at line ${seen})`);
  }
}

/**
 * anonymous_user and proxy_key_user name a [user]; an anonymous listener must be limited by
 * address (loopback, or permit lines none of which is every address): never anonymous by accident.
 */
function checkListenerUsers(l: ReadSection, userNames: readonly string[], report: Report): void {
  const label = sectionLabel(l.type, l.name);
  for (const [field, key] of [['anonymousUser', 'anonymous_user'], ['proxyKeyUser', 'proxy_key_user']] as const) {
    const user = l.fields[field] as string | undefined;
    if (user === undefined) continue;
    if (!userNames.some((n) => n.toLowerCase() === user.toLowerCase())) {
      report(lineOf(l, field), 'UNKNOWN_USER', `${key} of ${label} names unknown user "${user}"${didYouMean(user, userNames)}`);
    }
  }
  const listen = l.fields['listen'] as HostPort | undefined;
  if (l.fields['anonymousUser'] === undefined || listen === undefined) return;
  if (isLoopbackHost(listen.host) || limitsAddresses(l.fields['permit'] as string[] | undefined)) return;
  report(lineOf(l, 'anonymousUser'), 'CONFLICT',
    `anonymous_user in ${label} lets anyone who can reach ${formatHostPort(listen)} act as "${String(l.fields['anonymousUser'])}" without a login: listen on a loopback address, or limit the listener with permit lines (none of them every address)`);
}

/** The [cluster] keys that go together: user with password, tls_cert with tls_key, one way to authenticate. */
function checkCluster(c: ReadSection, report: Report): void {
  const has = (field: string) => c.lines.has(field);
  const label = sectionLabel(c.type, c.name);
  if (has('user') !== has('password')) report(lineOf(c, 'user', 'password'), 'CONFLICT', `user and password go together in ${label}`);
  if (has('tlsCert') !== has('tlsKey')) report(lineOf(c, 'tlsCert', 'tlsKey'), 'CONFLICT', `tls_cert and tls_key go together in ${label}`);
  const ways = [['user', 'user'], ['token', 'token'], ['creds', 'creds']].filter(([f]) => has(f!)).map(([, k]) => k!);
  if (ways.length > 1) report(lineOf(c, 'user', 'token', 'creds'), 'CONFLICT', `${label} takes only one of ${ways.join(', ')}`);
  const ttl = c.fields['leaseTtl'];
  if (typeof ttl === 'number' && ttl < 1) report(lineOf(c, 'leaseTtl'), 'BAD_VALUE', `lease_ttl must be at least 1 second in ${label}`);
}

/** A user's `servers`, each checked against the [server] sections; absent: all of them. */
function resolveServers(user: ReadSection, serverNames: readonly string[], report: Report): string[] {
  const listed = user.fields['servers'] as string[] | undefined;
  if (listed === undefined) return serverNames.slice();
  const line = lineOf(user, 'servers');
  for (const name of listed) {
    if (serverNames.includes(name)) continue;
    const known = serverNames.length > 0 ? `; defined: ${serverNames.join(', ')}` : '';
    report(line, 'UNKNOWN_SERVER',
      `${sectionLabel(user.type, user.name)} lists unknown server "${name}"${didYouMean(name, serverNames)}${known}`);
  }
  return listed.slice();
}

