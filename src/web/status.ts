/**
 * The status page's script: refreshes `/status.json` every 2 s into the header, the cluster
 * strip (with a [cluster] section only), the PBX cards and the clients table (updated in place,
 * so nothing jumps or flickers), and opens the page's one WebSocket (amiplex.js) for the live
 * tail and the click-to-call form.
 */
import { connect } from './amiplex.js';
import { ClickToCall } from './click-to-call.js';
import { ClusterStrip } from './cluster-strip.js';
import { holderWords } from './cluster-words.js';
import { byId, el, setText } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatRate } from './format.js';
import { EventTail } from './tail.js';
import type { ClientReport, ClusterReport, ServerReport, StatusReport } from './types.js';

const REFRESH_MS = 2000;
const TAIL_LINES = 500;

interface Card {
  readonly root: HTMLElement;
  readonly state: HTMLElement;
  readonly rate: HTMLElement;
  readonly version: HTMLElement;
  readonly address: HTMLElement;
  readonly uptime: HTMLElement;
  readonly eventsIn: HTMLElement;
  readonly note: HTMLElement;
  /** Cluster mode: the node holding the PBX (its row hidden without a cluster). */
  readonly holderLabel: HTMLElement;
  readonly holder: HTMLElement;
}

interface Row {
  readonly root: HTMLTableRowElement;
  readonly cells: HTMLTableCellElement[];
  /** The format's badge, inside its cell. */
  readonly badge: HTMLElement;
}

const cards = new Map<string, Card>();
const rows = new Map<string, Row>();
// The page's script is a module: it runs once the document is parsed.
const strip = new ClusterStrip();

function boot(): void {
  const tail = new EventTail(byId('tail'), byId('tail-state'), byId('tail-count'), TAIL_LINES);
  const filter = byId<HTMLInputElement>('tail-filter');
  filter.addEventListener('input', () => tail.setFilter(filter.value));
  const pause = byId<HTMLButtonElement>('tail-pause');
  pause.addEventListener('click', () => {
    tail.setPaused(!tail.isPaused);
    pause.textContent = tail.isPaused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(tail.isPaused));
  });
  byId('tail-clear').addEventListener('click', () => tail.clear());
  const socket = connect('/ws');
  const call = new ClickToCall(
    {
      form: byId('call-form'),
      server: byId('call-server'),
      deviceSelect: byId('call-device-select'),
      deviceText: byId('call-device-text'),
      number: byId('call-number'),
      contextLabel: byId('call-context-label'),
      context: byId('call-context'),
      button: byId('call-button'),
      result: byId('call-result'),
    },
    socket,
  );
  tail.setFilter('');
  tail.attach(socket);
  void refresh(call);
}

async function refresh(call: ClickToCall): Promise<void> {
  const conn = byId('conn');
  try {
    const res = await fetch('/status.json', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (res.ok) {
      const report = (await res.json()) as StatusReport;
      render(report);
      call.configure(report.me);
      conn.dataset.state = 'live';
      setText(conn, `updated ${new Date().toLocaleTimeString()}`);
    } else {
      const body = (await res.json().catch(() => undefined)) as Array<{ Message?: string }> | undefined;
      conn.dataset.state = 'down';
      setText(conn, res.status === 401 ? 'logged out: reload the page to log in' : `HTTP ${res.status}: ${body?.[0]?.Message ?? res.statusText}`);
    }
  } catch {
    conn.dataset.state = 'down';
    setText(conn, 'amiplex is not answering');
  } finally {
    setTimeout(() => void refresh(call), REFRESH_MS);
  }
}

function render(r: StatusReport): void {
  setText(byId('version'), r.amiplex.version);
  setText(byId('uptime'), formatDuration(r.amiplex.uptimeS));
  setText(byId('total-rate'), formatRate(r.totals.eventsPerSecond));
  setText(byId('client-count'), formatCount(r.totals.amiClients + r.totals.eventStreams + r.totals.webSockets));
  setText(byId('me'), r.me.name);
  strip.render(r.cluster, Date.parse(r.amiplex.now), r.servers.map((s) => s.name));
  renderCards(r);
  renderClients(r.clients);
  const omitted = byId('clients-omitted');
  omitted.hidden = r.clientsOmitted === 0;
  setText(omitted, `… and ${formatCount(r.clientsOmitted)} more, not listed (those with the most output queued are)`);
  setText(
    byId('clients-summary'),
    [plural(r.totals.amiClients, 'AMI client'), plural(r.totals.eventStreams, 'event stream'), plural(r.totals.webSockets, 'WebSocket'), plural(r.totals.httpSessions, 'HTTP login')].join(' · '),
  );
}

function plural(n: number, what: string): string {
  return `${formatCount(n)} ${what}${n === 1 ? '' : 's'}`;
}

function renderCards(r: StatusReport): void {
  const box = byId('pbx-cards');
  const now = Date.parse(r.amiplex.now);
  const seen = new Set<string>();
  for (const s of r.servers) {
    seen.add(s.name);
    let card = cards.get(s.name);
    if (!card) {
      card = newCard(s);
      cards.set(s.name, card);
      box.append(card.root);
    }
    updateCard(card, s, now, r.cluster);
  }
  for (const [name, card] of cards) {
    if (seen.has(name)) continue;
    card.root.remove();
    cards.delete(name);
  }
  byId('pbx-empty').hidden = r.servers.length > 0;
}

function newCard(s: ServerReport): Card {
  const fact = (label: string) => {
    const dd = el('dd');
    return { dt: el('dt', { text: label }), dd };
  };
  const version = fact('AMI version');
  const address = fact('Address');
  const uptime = fact('Uptime');
  const holder = fact('Held by');
  const state = el('span', { className: 'state' });
  const rate = el('span', { className: 'big' });
  const eventsIn = el('span', { className: 'total' });
  const note = el('p', { className: 'note' });
  const root = el(
    'article',
    { className: 'card', attrs: { 'data-server': s.name } },
    el('header', {}, el('h3', { text: s.name, title: s.name }), state),
    el('div', { className: 'rate' }, rate, el('span', { className: 'unit', text: 'events/s' }), eventsIn),
    el('dl', {}, version.dt, version.dd, address.dt, address.dd, uptime.dt, uptime.dd, holder.dt, holder.dd),
    note,
  );
  holder.dd.className = 'holder';
  return { root, state, rate, version: version.dd, address: address.dd, uptime: uptime.dd, eventsIn, note, holderLabel: holder.dt, holder: holder.dd };
}

function updateCard(card: Card, s: ServerReport, now: number, cluster: ClusterReport | undefined): void {
  card.root.dataset.state = s.state;
  setText(card.state, s.state);
  setText(card.rate, s.state === 'up' ? formatRate(s.eventsPerSecond) : '–');
  setText(card.version, s.amiVersion ?? '–');
  setText(card.address, s.address);
  const since = Math.floor((now - Date.parse(s.stateSince)) / 1000);
  setText(card.uptime, s.state === 'up' ? formatDuration(s.uptimeS) : `${s.state} for ${formatDuration(since)}`);
  setText(card.eventsIn, `${formatCount(s.eventsIn)} received`);
  const holder = cluster === undefined ? undefined : holderWords(s.node, cluster);
  const notes: string[] = [];
  if (holder?.stale) notes.push(`as node ${s.node ?? ''} last reported it: NATS is not connected`);
  if (s.reconnects > 0) notes.push(`${formatCount(s.reconnects)} reconnects`);
  if (s.pendingActions > 0) notes.push(`${formatCount(s.pendingActions)} actions pending`);
  if (s.lastError !== null && s.state !== 'up') notes.push(`last error: ${s.lastError}`);
  setText(card.note, notes.join(' · '));
  card.note.title = card.note.textContent ?? '';
  // Cluster mode: who holds the PBX; without a cluster the row stays hidden.
  card.holderLabel.hidden = card.holder.hidden = holder === undefined;
  card.root.toggleAttribute('data-stale', holder?.stale === true);
  if (holder === undefined) delete card.root.dataset.holder;
  else {
    card.root.dataset.holder = holder.kind;
    setText(card.holder, holder.text);
    card.holder.title = holder.title;
  }
}

const COLUMNS = ['user', 'remote', 'format', 'sent', 'dropped', 'buffered', 'connected'] as const;

function renderClients(clients: readonly ClientReport[]): void {
  const body = byId('clients-body');
  const seen = new Set<string>();
  const ordered: HTMLTableRowElement[] = [];
  for (const c of clients) {
    const key = `${c.kind}-${c.id}`;
    seen.add(key);
    let row = rows.get(key);
    if (!row) {
      const cells = COLUMNS.map((col) => el('td', { className: `col-${col}` }));
      const badge = el('span', { className: 'badge' });
      cells[COLUMNS.indexOf('format')]!.append(badge);
      row = { root: el('tr', { attrs: { 'data-client': key } }, ...cells), cells, badge };
      rows.set(key, row);
    }
    const [user, remote, , sent, dropped, buffered, connected] = row.cells as [HTMLTableCellElement, ...HTMLTableCellElement[]];
    setText(user, c.user ?? '(logging in)');
    setText(remote!, c.remote);
    setText(row.badge, c.format);
    row.badge.dataset.format = c.format;
    setText(sent!, formatCount(c.eventsSent));
    setText(dropped!, c.eventsDropped === null ? '–' : formatCount(c.eventsDropped));
    dropped!.classList.toggle('warn', (c.eventsDropped ?? 0) > 0);
    setText(buffered!, formatBytes(c.buffered));
    buffered!.classList.toggle('warn', c.buffered >= 64 * 1024);
    setText(connected!, formatDuration(c.connectedS));
    ordered.push(row.root);
  }
  for (const [key, row] of rows) {
    if (seen.has(key)) continue;
    row.root.remove();
    rows.delete(key);
  }
  // Re-append in order only when the order changed (moving rows would reset hover and selection).
  const current = Array.from(body.children);
  if (current.length !== ordered.length || ordered.some((r, i) => current[i] !== r)) body.replaceChildren(...ordered);
  byId('clients-empty').hidden = clients.length > 0;
}

boot();
