/**
 * The click-to-call form: an Originate from one of the user's devices to a number, through the
 * HTTP action endpoint (`POST /json`), as the user (its cookie or Basic credentials).
 *
 * The Originate is sent with `Async: true` and a `ChannelId` chosen here: amiplex answers at once
 * ("Originate successfully queued", or an error), and the call's outcome comes as an
 * `OriginateResponse` event, which the page receives on its event stream (the tail). The one
 * whose Uniqueid is that ChannelId — or, for a call that never got a channel, whose Channel is
 * the device called with `Response: Failure` — is shown: Response, Reason, Channel, Uniqueid.
 * (A synchronous Originate would be answered by amiplex with Response and Message only, as
 * Asterisk answers it, without the channel or the reason.)
 */
import { el } from './dom.js';
import type { EventTail } from './tail.js';
import type { AmiEvent, StatusReport } from './types.js';

/** How long a call may ring (ms), sent as the Originate's Timeout. */
const RING_MS = 30_000;
/** How long to wait for the OriginateResponse after the call was queued. */
const WAIT_MS = RING_MS + 15_000;

/** Asterisk's OriginateResponse Reason codes. */
const REASONS: Readonly<Record<string, string>> = {
  '0': 'failed: no such device, or the call could not be placed',
  '1': 'hung up',
  '3': 'ringing, no answer',
  '4': 'answered',
  '5': 'busy',
  '8': 'congestion',
};

export interface CallFormElements {
  readonly form: HTMLFormElement;
  readonly server: HTMLSelectElement;
  readonly deviceSelect: HTMLSelectElement;
  readonly deviceText: HTMLInputElement;
  readonly number: HTMLInputElement;
  readonly contextLabel: HTMLElement;
  readonly context: HTMLInputElement;
  readonly button: HTMLButtonElement;
  readonly result: HTMLElement;
}

interface Pending {
  readonly server: string;
  readonly channel: string;
  readonly channelId: string;
  queued: boolean;
  outcome: AmiEvent | undefined;
  timer: number;
}

let nextAction = 1;

export class ClickToCall {
  private me: StatusReport['me'] | undefined;
  private pending: Pending | undefined;

  constructor(
    private readonly ui: CallFormElements,
    tail: EventTail,
  ) {
    ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.call();
    });
    tail.onEvent((event) => this.event(event));
  }

  /** Fills the form from what status.json says of the user (again only when that changed). */
  configure(me: StatusReport['me']): void {
    if (this.me !== undefined && JSON.stringify(this.me) === JSON.stringify(me)) return;
    this.me = me;
    const { server, deviceSelect, deviceText, contextLabel, context } = this.ui;
    server.replaceChildren(...me.servers.map((s) => el('option', { text: s, attrs: { value: s } })));
    const hasDevices = me.channels.length > 0;
    deviceSelect.replaceChildren(...me.channels.map((c) => el('option', { text: c, attrs: { value: c } })));
    deviceSelect.hidden = !hasDevices;
    deviceSelect.disabled = !hasDevices;
    deviceText.hidden = hasDevices;
    deviceText.disabled = hasDevices;
    deviceText.required = !hasDevices;
    // A forced context is amiplex's to apply: the field is not shown, its value is sent as it is.
    contextLabel.hidden = me.context !== null;
    if (me.context !== null) context.value = me.context;
    this.ui.button.disabled = me.servers.length === 0;
  }

  private async call(): Promise<void> {
    const me = this.me;
    if (me === undefined || this.pending !== undefined) return;
    const channel = (me.channels.length > 0 ? this.ui.deviceSelect.value : this.ui.deviceText.value).trim();
    const number = this.ui.number.value.trim();
    const context = me.context ?? this.ui.context.value.trim();
    if (channel === '' || number === '' || context === '') {
      return this.show('error', 'Device, number and context are needed.', []);
    }
    const pending: Pending = { server: this.ui.server.value, channel, channelId: `amiplex-web-${randomHex(8)}`, queued: false, outcome: undefined, timer: 0 };
    this.pending = pending;
    this.ui.button.disabled = true;
    this.show('waiting', `Calling ${number} from ${channel}…`, []);
    const form = new URLSearchParams({
      Action: 'Originate',
      ActionID: `web-${nextAction++}`,
      Server: pending.server,
      Channel: channel,
      Exten: number,
      Context: context,
      Priority: '1',
      Timeout: String(RING_MS),
      Async: 'true',
      ChannelId: pending.channelId,
    });
    let answer: AmiEvent | undefined;
    let failure: string | undefined;
    try {
      const res = await fetch('/json', { method: 'POST', body: form, headers: { Accept: 'application/json' }, cache: 'no-store' });
      const body = (await res.json().catch(() => undefined)) as AmiEvent[] | undefined;
      answer = Array.isArray(body) ? body[0] : undefined;
      if (!res.ok || answer === undefined || answer.Response !== 'Success') {
        failure = `${res.status === 200 ? '' : `HTTP ${res.status}: `}${String(answer?.Message ?? res.statusText)}`;
      }
    } catch (err) {
      failure = `amiplex did not answer: ${(err as Error).message}`;
    }
    if (this.pending !== pending) return;
    if (failure !== undefined) return this.finish('error', `Originate refused: ${failure}`, answer);
    pending.queued = true;
    if (pending.outcome !== undefined) return this.outcome(pending.outcome);
    this.show('waiting', `Queued; ringing ${channel}… waiting for the OriginateResponse`, [['Uniqueid', pending.channelId]]);
    pending.timer = window.setTimeout(() => {
      if (this.pending === pending) this.finish('error', `No OriginateResponse within ${WAIT_MS / 1000} s (is the live tail connected?)`, undefined);
    }, WAIT_MS);
  }

  private event(event: AmiEvent): void {
    const p = this.pending;
    if (p === undefined || event.Event !== 'OriginateResponse' || p.outcome !== undefined) return;
    if (event.Server !== undefined && event.Server !== p.server) return;
    const mine = event.Uniqueid === p.channelId || (event.Channel === p.channel && event.Response !== 'Success');
    if (!mine) return;
    p.outcome = event;
    // Before amiplex's answer to the request (a call that fails at once): shown when that comes.
    if (p.queued) this.outcome(event);
  }

  private outcome(event: AmiEvent): void {
    const ok = event.Response === 'Success';
    this.finish(ok ? 'success' : 'error', ok ? 'Call answered: OriginateResponse' : 'Call failed: OriginateResponse', event);
  }

  private finish(kind: 'success' | 'error', title: string, event: AmiEvent | undefined): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
    this.ui.button.disabled = false;
    const rows: Array<[string, string]> = [];
    if (event !== undefined) {
      for (const key of ['Response', 'Reason', 'Channel', 'Uniqueid', 'Message']) {
        const v = event[key];
        if (v === undefined) continue;
        const value = typeof v === 'string' ? v : v.join(', ');
        rows.push([key, key === 'Reason' && REASONS[value] ? `${value} (${REASONS[value]})` : value]);
      }
    }
    this.show(kind, title, rows);
  }

  private show(kind: 'waiting' | 'success' | 'error', title: string, rows: ReadonlyArray<readonly [string, string]>): void {
    const dl = el('dl');
    for (const [k, v] of rows) dl.append(el('dt', { text: k }), el('dd', { text: v, title: v, attrs: { 'data-key': k } }));
    this.ui.result.dataset.kind = kind;
    this.ui.result.replaceChildren(el('p', { className: 'title', text: title }), dl);
  }
}

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}
