/**
 * The click-to-call form: an Originate from one of the user's devices to a number, sent as the
 * user on the page's WebSocket (amiplex.js), with `Async: true`: amiplex answers at once
 * ("Originate successfully queued", or an error), then the call's outcome comes on the same
 * socket as the `OriginateResponse` with the action's ActionID — the action's whole answer.
 * Shown: Response, Reason, Channel, Uniqueid. (A synchronous Originate would be answered with
 * Response and Message only, as Asterisk answers it, without the channel or the reason.)
 */
import { AmiError, type AmiMessage, type AmiplexSocket } from './amiplex.js';
import { el } from './dom.js';
import type { StatusReport } from './types.js';

/** How long a call may ring (ms), sent as the Originate's Timeout. */
const RING_MS = 30_000;

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

export class ClickToCall {
  private me: StatusReport['me'] | undefined;
  private busy = false;

  constructor(
    private readonly ui: CallFormElements,
    private readonly socket: AmiplexSocket,
  ) {
    ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.call();
    });
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
    if (me === undefined || this.busy) return;
    const channel = (me.channels.length > 0 ? this.ui.deviceSelect.value : this.ui.deviceText.value).trim();
    const number = this.ui.number.value.trim();
    const context = me.context ?? this.ui.context.value.trim();
    if (channel === '' || number === '' || context === '') {
      return this.show('error', 'Device, number and context are needed.', []);
    }
    const channelId = `amiplex-web-${randomHex(8)}`;
    this.busy = true;
    this.ui.button.disabled = true;
    this.show('waiting', `Calling ${number} from ${channel}…`, []);
    try {
      const answer = await this.socket.action(
        { Action: 'Originate', Server: this.ui.server.value, Channel: channel, Exten: number, Context: context, Priority: '1', Timeout: String(RING_MS), Async: 'true', ChannelId: channelId },
        {
          onPart: (part) => {
            if (part.Response === 'Success' && part.Event === undefined) this.show('waiting', `Queued; ringing ${channel}… waiting for the OriginateResponse`, [['Uniqueid', channelId]]);
          },
        },
      );
      const outcome = answer.at(-1)!;
      const ok = outcome.Response === 'Success';
      this.show(ok ? 'success' : 'error', ok ? 'Call answered: OriginateResponse' : 'Call failed: OriginateResponse', rowsOf(outcome));
    } catch (err) {
      const refused = err instanceof AmiError;
      this.show('error', refused ? `Originate refused: ${err.message}` : `No answer: ${(err as Error).message}`, refused ? rowsOf(err.answer[0]!) : []);
    } finally {
      this.busy = false;
      this.ui.button.disabled = false;
    }
  }

  private show(kind: 'waiting' | 'success' | 'error', title: string, rows: ReadonlyArray<readonly [string, string]>): void {
    const dl = el('dl');
    for (const [k, v] of rows) dl.append(el('dt', { text: k }), el('dd', { text: v, title: v, attrs: { 'data-key': k } }));
    this.ui.result.dataset.kind = kind;
    this.ui.result.replaceChildren(el('p', { className: 'title', text: title }), dl);
  }
}

/** What the result shows of a message: Response, Reason (explained), Channel, Uniqueid, Message. */
function rowsOf(message: AmiMessage): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const key of ['Response', 'Reason', 'Channel', 'Uniqueid', 'Message']) {
    const v = message[key];
    if (v === undefined) continue;
    const value = typeof v === 'string' ? v : v.join(', ');
    rows.push([key, key === 'Reason' && REASONS[value] ? `${value} (${REASONS[value]})` : value]);
  }
  return rows;
}

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}
