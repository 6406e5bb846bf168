/**
 * `amiplex import-astmanproxy`: an astmanproxy.conf (and astmanproxy.users) as an equivalent
 * proxy.conf. Pure: the files' texts in, the proxy.conf text and the warnings out; the command
 * (src/import-astmanproxy-command.ts) reads and prints.
 *
 * Every key astmanproxy reads is mapped (see docs/migrating-from-astmanproxy.md): what amiplex
 * does the same way becomes its key, what has no meaning for amiplex a comment saying so, what
 * amiplex cannot do as astmanproxy did a warning naming FILE:LINE. Each section has a comment
 * above it naming the lines it came from. The result passes `amiplex --check` as it is.
 */
import { randomBytes } from 'node:crypto';

import { bcryptHashShape } from '../access/secret-hash.js';
import { isLoopbackHost } from '../access/acl.js';
import { device } from '../config/values.js';
import { NAME_PATTERN } from '../config/values.js';
import { fields, readAstmanproxyFile, type AstEntry } from './astmanproxy-files.js';

export interface ImportInput {
  readonly confFile: string;
  readonly confText: string;
  readonly usersFile?: string;
  readonly usersText?: string;
}

export interface ImportResult {
  /** The proxy.conf text. */
  readonly conf: string;
  /** `FILE:LINE: what has no equivalent`, in file order. */
  readonly warnings: string[];
}

/** The [listener] that stands for astmanproxy's one listener. */
export const LISTENER_NAME = 'astmanproxy';
const ANONYMOUS_USER = 'astmanproxy-anonymous';
const KEY_USER = 'astmanproxy-key';

/** astmanproxy's output format names as amiplex's. */
const OUTPUT_FORMATS: Readonly<Record<string, string>> = { standard: 'standard', xml: 'astmanproxy-xml', csv: 'astmanproxy-csv' };
const INPUT_FORMATS = new Set(['standard', 'http', 'xml']);
/** A users-file filter as the events a user receives (the union of them) or refuses. */
const EVENT_FILTERS: Readonly<Record<string, string>> = { cdronly: 'Cdr', brionly: 'Bridge*', xfronly: '*Transfer*' };

interface Section {
  readonly header: string;
  readonly from: string;
  readonly lines: string[];
}

/** A value as proxy.conf writes it: `;` escaped (it would start a comment). */
function v(value: string): string {
  return value.replace(/;/g, '\\;');
}

const yes = (value: string) => /^(yes|on|1|true)$/i.test(value);

export function importAstmanproxy(input: ImportInput): ImportResult {
  const warnings: Array<{ file: string; line: number; text: string }> = [];
  const warn = (file: string, line: number, text: string) => warnings.push({ file, line, text });
  const conf = readAstmanproxyFile(input.confText);
  const at = (e: AstEntry) => `${input.confFile}:${e.line}`;
  const last = (key: string) => conf.filter((e) => e.key === key).at(-1);

  const general: string[] = [];
  const generalFrom: string[] = [];
  const servers: Section[] = [];
  const listener: string[] = [];
  const listenerFrom: string[] = [];
  const users: Section[] = [];
  const note = (lines: string[], e: AstEntry, text: string) => lines.push(`; ${e.key} = ${e.value.replace(/^(.{0,60}).*$/, '$1')} (${at(e)}): ${text}`);

  // ---- [server] sections: host lines --------------------------------------------------------
  const retry = last('retryinterval');
  const serverNames: string[] = [];
  for (const e of conf.filter((x) => x.key === 'host')) {
    const [address = '', port = '', user = '', secret = '', events = '', ssl = ''] = fields(e.value);
    if (address === '' || port === '' || user === '' || secret === '') {
      warn(input.confFile, e.line, 'host line incomplete (host = address, port, user, secret, events[, use_ssl]): left out');
      continue;
    }
    let name = NAME_PATTERN.test(address) ? address : address.replace(/[^A-Za-z0-9_.-]/g, '-');
    if (name !== address) warn(input.confFile, e.line, `server ${address} is named ${name} (proxy.conf names are letters, digits, "_", "." and "-"): clients must write Server: ${name}`);
    while (serverNames.some((n) => n.toLowerCase() === name.toLowerCase())) name += '-2';
    serverNames.push(name);
    const lines = [`host = ${address}`, `port = ${port}`, `username = ${v(user)}`, `secret = ${v(secret)}`];
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      warn(input.confFile, e.line, `port "${port}" is not a port: 5038 written instead`);
      lines[1] = 'port = 5038';
    }
    if (events !== '' && !yes(events)) {
      lines.push(`; events = ${events}: amiplex's session always takes events; each client chooses its own (Events: off), each user's filters decide`);
      warn(input.confFile, e.line, `events ${events}: amiplex receives this PBX's events anyway; clients that want none send Events: off`);
    }
    if (yes(ssl)) {
      lines.push('tls = yes', 'tls_verify = no');
      warn(input.confFile, e.line, `use_ssl on: written as tls = yes with tls_verify = no (astmanproxy did not check the PBX certificate); set tls_ca to check it`);
    }
    if (retry !== undefined) {
      const s = Number(retry.value);
      if (Number.isFinite(s) && s > 0) lines.push(`; retryinterval = ${retry.value} (${at(retry)}): a fixed interval between attempts`, `reconnect_min = ${s}`, `reconnect_max = ${s}`);
    }
    servers.push({ header: `[server ${name}]`, from: `${at(e)} (host)`, lines });
  }
  if (servers.length === 0) warn(input.confFile, 0, 'no host line: amiplex needs at least one PBX (a [server] section)');

  // ---- [general] and [listener astmanproxy] -------------------------------------------------
  const address = last('listenaddress');
  const portEntry = last('listenport');
  const host = address === undefined || address.value === '*' || address.value === '' ? '0.0.0.0' : address.value;
  const port = portEntry !== undefined && /^\d+$/.test(portEntry.value) ? Number(portEntry.value) : 1234;
  listener.push(`listen = ${host.includes(':') ? `[${host}]` : host}:${port}`);
  for (const e of [address, portEntry]) if (e) listenerFrom.push(`${at(e)} (${e.key})`);
  // amiplex always has a raw listener of [general]: on a free loopback port, it is out of the way.
  general.push("; amiplex's own raw AMI listener (it always has one): on a free loopback port, out of the way;", '; astmanproxy\'s clients use [listener astmanproxy].', 'listen = 127.0.0.1:0');

  const input0 = last('inputformat');
  const inputName = (input0?.value ?? 'standard').toLowerCase();
  if (input0 !== undefined && !INPUT_FORMATS.has(inputName)) warn(input.confFile, input0.line, `inputformat ${input0.value} is unknown: standard written`);
  const inputFormat = INPUT_FORMATS.has(inputName) ? inputName : 'standard';
  listener.push(`input = ${inputFormat}`);
  const output0 = last('outputformat');
  const outputFormat = OUTPUT_FORMATS[(output0?.value ?? 'standard').toLowerCase()];
  if (output0 !== undefined && outputFormat === undefined) warn(input.confFile, output0.line, `outputformat ${output0.value} is unknown: standard written`);
  listener.push(`format = ${outputFormat ?? 'standard'}`);
  const auto = last('autofilter');
  if (auto !== undefined) {
    const mode = auto.value.toLowerCase();
    listener.push(`autofilter = ${mode === 'on' || mode === 'unique' ? mode : 'off'}`);
    if (inputFormat === 'http' && mode !== 'off') listener.push('; over HTTP every request gets its own answer only: autofilter changes nothing there');
  }

  const acceptTls = last('acceptencryptedconnection');
  const acceptPlain = last('acceptunencryptedconnection');
  const tlsOnly = acceptTls !== undefined && yes(acceptTls.value) && acceptPlain !== undefined && !yes(acceptPlain.value);
  if (tlsOnly) listener.push('tls = yes');
  else if (acceptTls !== undefined && yes(acceptTls.value)) {
    warn(input.confFile, acceptTls.line, 'acceptencryptedconnection = yes with plain connections too: an amiplex listener is TLS or plain, not both on one port; this one is plain (add a [listener] with tls = yes on another port for TLS clients)');
  }
  const cert = last('certfile');
  if (cert !== undefined) {
    if (tlsOnly) {
      general.push(`; certfile (${at(cert)}): astmanproxy's PEM holds the certificate and its key`, `tls_cert = ${v(cert.value)}`, `tls_key = ${v(cert.value)}`);
    } else {
      note(general, cert, 'no TLS listener here, so no certificate is needed');
    }
  }

  // authrequired: absent or no means no login at all in astmanproxy.
  const auth = last('authrequired');
  const anonymous = auth === undefined || !yes(auth.value);
  if (anonymous) {
    const loopback = isLoopbackHost(host);
    listener.push(`; authrequired = ${auth?.value ?? '(absent: no)'}${auth ? ` (${at(auth)})` : ''}: clients act as [user ${ANONYMOUS_USER}] without logging in`);
    listener.push(`anonymous_user = ${ANONYMOUS_USER}`);
    if (!loopback) {
      listener.push('; never anonymous by accident: only from the networks listed here; add your clients\' networks', 'permit = 127.0.0.0/8');
      warn(input.confFile, auth?.line ?? address?.line ?? portEntry?.line ?? 0, `authrequired = no on ${host}:${port}: amiplex takes anonymous clients only from the networks its permit lines list; permit = 127.0.0.0/8 is written, add your clients' networks (or require logins)`);
    }
    users.push({
      header: `[user ${ANONYMOUS_USER}]`,
      from: auth ? `${at(auth)} (authrequired)` : `${input.confFile} (authrequired absent)`,
      lines: ['; whom anonymous clients act as; nobody logs in with this secret', `secret = ${randomBytes(18).toString('base64url')}`, 'server_header_answers = yes'],
    });
    if (auth) listenerFrom.push(`${at(auth)} (authrequired)`);
  }
  const key = last('proxykey');
  if (key !== undefined && key.value !== '') {
    listener.push(`proxy_key_user = ${KEY_USER}`);
    listenerFrom.push(`${at(key)} (proxykey)`);
    if (!tlsOnly && !isLoopbackHost(host)) {
      listener.push('; the key crosses the network in clear, as it did with astmanproxy', 'proxy_key_plain = yes');
      warn(input.confFile, key.line, 'proxykey over plain TCP from other machines: proxy_key_plain = yes keeps it working; anyone on the way can read the key (prefer TLS)');
    }
    users.push({ header: `[user ${KEY_USER}]`, from: `${at(key)} (proxykey)`, lines: ['; ProxyKey: KEY logs a client in as this user', `secret = ${v(key.value)}`, 'server_header_answers = yes'] });
  }

  for (const e of conf) {
    switch (e.key) {
      case 'retryinterval':
        if (!(Number(e.value) > 0)) note(general, e, 'not a positive number of seconds: amiplex keeps its backoff (reconnect_min, reconnect_max)');
        break;
      case 'maxretries':
        note(general, e, 'no meaning for amiplex: it retries a PBX for ever (astmanproxy exited after the last try)');
        break;
      case 'asteriskwritetimeout':
        note(general, e, 'no meaning for amiplex: a PBX that stops reading is found by keepalive and keepalive_timeout of its [server]');
        break;
      case 'clientwritetimeout': {
        const ms = Number(e.value);
        if (Number.isFinite(ms) && ms > 0) {
          general.push(`; clientwritetimeout = ${e.value} ms (${at(e)}): how long a client may lag`, `slow_client_timeout = ${Math.max(0.001, Math.round(ms) / 1000)}`);
          generalFrom.push(`${at(e)} (clientwritetimeout)`);
        } else note(general, e, 'not a number of milliseconds: slow_client_timeout keeps its default');
        break;
      }
      case 'sslclienthellotimeout':
        note(general, e, 'no meaning for amiplex: a TLS listener is TLS from the first byte, its handshake due within authtimeout');
        break;
      case 'proc_user':
      case 'proc_group':
        note(general, e, 'no meaning for amiplex: run it as an unprivileged user from its service manager (contrib/amiplex.service: User=, Group=)');
        break;
      case 'logfile':
        note(general, e, 'no meaning for amiplex: it logs JSON lines to standard error (journald under systemd); log_level chooses how much');
        break;
      case 'filterlocal':
        note(listener, e, 'no equivalent in amiplex');
        warn(input.confFile, e.line, `filterlocal = ${e.value}: amiplex has no equivalent; a user's channels (device scope) follow the other legs of its calls, Local channels included`);
        break;
      case 'forcebanner': {
        const m = /^Asterisk Call Manager\/(\S+)$/i.exec(e.value);
        if (m) {
          general.push(`; forcebanner (${at(e)})`, `banner_version = ${v(m[1]!)}`);
          generalFrom.push(`${at(e)} (forcebanner)`);
        } else {
          note(general, e, 'amiplex announces "Asterisk Call Manager/VERSION" (banner_version sets VERSION)');
          warn(input.confFile, e.line, `forcebanner = ${e.value}: amiplex's banner is Asterisk's, "Asterisk Call Manager/VERSION"; only VERSION can be set (banner_version)`);
        }
        break;
      }
      case 'host': case 'listenaddress': case 'listenport': case 'inputformat': case 'outputformat': case 'autofilter':
      case 'acceptencryptedconnection': case 'acceptunencryptedconnection': case 'certfile': case 'authrequired': case 'proxykey':
        break;
      default:
        warn(input.confFile, e.line, `${e.key} is not a key astmanproxy reads: left out`);
    }
  }

  // ---- [user] sections: astmanproxy.users ---------------------------------------------------
  if (input.usersText !== undefined) {
    const file = input.usersFile ?? 'astmanproxy.users';
    const taken = new Set(users.map((u) => u.header.toLowerCase()));
    for (const e of readAstmanproxyFile(input.usersText)) {
      const user = importUser(e, file, serverNames, (line, text) => warn(file, line, text));
      if (user === undefined) continue;
      if (taken.has(user.header.toLowerCase())) {
        warn(file, e.line, `${user.header} is given twice: this one is left out`);
        continue;
      }
      taken.add(user.header.toLowerCase());
      users.push(user);
    }
  } else if (!anonymous) {
    warn(input.confFile, auth?.line ?? 0, 'authrequired = yes and no astmanproxy.users given: nobody can log in but with ProxyKey; give the users file as the second argument');
  }

  // ---- the text -----------------------------------------------------------------------------
  const sources = [input.confFile, ...(input.usersFile ? [input.usersFile] : [])].join(' and ');
  const out: string[] = [
    `; proxy.conf imported from ${sources} by "amiplex import-astmanproxy".`,
    '; Check it with "amiplex --check --config FILE"; every key is explained in proxy.conf.example.',
    '',
    `; from ${[input.confFile, ...generalFrom].join(', ')}`,
    '[general]',
    ...general,
    '',
  ];
  for (const s of [...servers, { header: `[listener ${LISTENER_NAME}]`, from: listenerFrom.length > 0 ? listenerFrom.join(', ') : `${input.confFile} (listenport's default, 1234)`, lines: listener }, ...users]) {
    out.push(`; from ${s.from}`, s.header, ...s.lines, '');
  }
  const sorted = warnings.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file === input.confFile ? -1 : 1));
  return { conf: out.join('\n') + '\n', warnings: sorted.map((w) => (w.line > 0 ? `${w.file}:${w.line}: ${w.text}` : `${w.file}: ${w.text}`)) };
}

/** One line of astmanproxy.users: `user=secret,channel,out_context,in_context,accountcode,server,more_events,filters`. */
function importUser(e: AstEntry, file: string, serverNames: readonly string[], warn: (line: number, text: string) => void): Section | undefined {
  const [secret = '', channel = '', outContext = '', inContext = '', account = '', server = '', moreEvents = '', filters = ''] = fields(e.value);
  const from = `${file}:${e.line}`;
  let name = e.key;
  if (!NAME_PATTERN.test(name)) {
    name = name.replace(/[^A-Za-z0-9_.-]/g, '_');
    warn(e.line, `user ${e.key} is named ${name} (proxy.conf names are letters, digits, "_", "." and "-"): it logs in with Username: ${name}`);
  }
  const lines: string[] = [];
  if (secret.startsWith('$')) {
    if (bcryptHashShape(secret) === 'ok') lines.push(`secret_hash = ${secret}`);
    else {
      lines.push(`; its secret (${from}) is a hash amiplex cannot check; set a new one`, `secret = ${randomBytes(18).toString('base64url')}`);
      warn(e.line, `the secret of ${e.key} is not a bcrypt hash ($2a$, $2b$, $2y$) amiplex can check: a random secret is written, set a new one`);
    }
  } else if (secret !== '') {
    lines.push(`secret = ${v(secret)}`);
  } else {
    lines.push(`secret = ${randomBytes(18).toString('base64url')}`);
    warn(e.line, `${e.key} has no secret: a random one is written, set one`);
  }
  if (channel !== '') {
    if (device().parse(channel).ok) lines.push(`; channel (${from}): actions must name it, events are about it and its calls' other legs`, `channels = ${channel}`);
    else warn(e.line, `channel ${channel} of ${e.key} is not a device (TECH/RESOURCE): left out, so ${e.key} is not limited to a device`);
  }
  if (outContext !== '') lines.push(`; out_context (${from})`, `context = ${v(outContext)}`);
  if (inContext !== '') {
    lines.push(`; in_context = ${inContext}: no equivalent (events are limited by channels)`);
    warn(e.line, `in_context ${inContext} of ${e.key}: amiplex does not filter events by context; channels limits them to the user's devices (eventfilter can do more)`);
  }
  if (account !== '') {
    lines.push(`; accountcode = ${account}: no equivalent`);
    warn(e.line, `accountcode ${account} of ${e.key}: amiplex does not filter by account code (eventfilter on AccountCode can)`);
  }
  if (server !== '') {
    const known = serverNames.find((n) => n.toLowerCase() === server.toLowerCase());
    if (known !== undefined) lines.push(`; server (${from}): its default PBX`, `servers = ${[known, ...serverNames.filter((n) => n !== known)].join(', ')}`);
    else warn(e.line, `server ${server} of ${e.key} is no host of the astmanproxy.conf: left out (every server, the first by default)`);
  }
  if (moreEvents !== '') lines.push(`; more_events = ${moreEvents}: amiplex's device scope sends the events about the user's devices and their calls`);
  const events: string[] = [];
  for (const filter of filters.split('|').map((f) => f.trim().toLowerCase()).filter((f) => f !== '')) {
    if (filter === 'novar') lines.push(`; filters: novar`, 'deny_events = VarSet');
    else if (EVENT_FILTERS[filter] !== undefined) events.push(EVENT_FILTERS[filter]);
    else warn(e.line, `filter ${filter} of ${e.key} is unknown (cdronly, brionly, xfronly, novar): left out`);
  }
  if (events.length > 0) lines.push(`; filters: ${filters}`, `events = ${events.join(', ')}`);
  lines.push('; Server: NAME on every message of a PBX, as astmanproxy wrote it', 'server_header_answers = yes');
  return { header: `[user ${name}]`, from, lines };
}
