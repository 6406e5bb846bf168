/**
 * The websocket format: what travels in the text frames of `GET /ws` (docs/websocket.md). Pure:
 * a client's frame in, the action it stands for (or why not) out; a message in, the JSON text
 * of its frame out. The socket itself is src/clients/websocket/.
 *
 * Client → amiplex: one JSON object per frame, AMI header names as keys, in order; an array
 * is a repeated header (`"Variable": ["A=1", "B=2"]` → two `Variable:` lines, in order). Text
 * is UTF-8, carried to the PBX as its bytes. The checks of every input format apply
 * (input-lines.ts: header names, CR/LF/NUL), and Asterisk's 1024-byte lines and 128 headers. Under the `amiws`
 * subprotocol, numbers and booleans are taken as their JSON text, and `AMIServerID: n` picks
 * the n-th server of proxy.conf (as amiws's server ids), as `Server:` does.
 *
 * amiplex → client, envelope `amiplex` (the default):
 *
 *     {"type":"response","server":"pbx1","data":{"Response":"Success","ActionID":"7",…}}
 *     {"type":"event","id":42,"server":"pbx1","data":{"Event":"Newchannel",…}}
 *     {"type":"error","message":"…"}
 *
 * `data` is the json format's object for the message (formats/json.ts), encoded once per
 * event for every socket; `server` is null for what amiplex says of no PBX. Envelope `amiws`
 * (subprotocol `amiws`), as amiws writes it:
 *
 *     {"type":3,"server_id":1,"server_name":"pbx1","ssl":false,"data":{…}}
 *
 * type 3 for an event, 4 for a response, 5 for a legacy `Response: Follows` command output;
 * server_id is the server's place in proxy.conf (1, 2, …), 0 for what is of no PBX.
 */
import { messageKind, toWire, type AmiHeader, type AmiMessage } from '../src/ami/message.js';
import { CLIENT_LIMITS, DECODE_ERROR_TEXT } from '../src/ami/decoder.js';
import { headerProblem } from './input-lines.js';

export type Envelope = 'amiplex' | 'amiws';

/** The subprotocols a client may ask for, and the envelope each stands for. */
export const SUBPROTOCOLS: ReadonlyMap<string, Envelope> = new Map([
  ['amiplex', 'amiplex'],
  ['amiws', 'amiws'],
]);

/** A PBX as a frame names it. */
export interface FrameServer {
  readonly name: string;
  /** Its place in proxy.conf, from 1 (amiws's server_id). */
  readonly id: number;
  /** Whether amiplex reaches it over TLS (amiws's ssl). */
  readonly tls: boolean;
}

export type ClientFrame = { readonly ok: true; readonly action: AmiMessage } | { readonly ok: false; readonly message: string };

/**
 * The action of one text frame. `serverById` answers amiws's AMIServerID (amiws envelope
 * only); it is told the id as given.
 */
export function parseClientFrame(text: string, envelope: Envelope, serverById: (id: number) => string | undefined): ClientFrame {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `Not JSON: ${(err as Error).message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, message: 'A frame must be one JSON object of AMI headers, as {"Action":"Ping","ActionID":"1"}' };
  }
  const amiws = envelope === 'amiws';
  const headers: AmiHeader[] = [];
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    const texts: string[] = [];
    for (const v of values) {
      if (typeof v === 'string') texts.push(v);
      else if (amiws && (typeof v === 'number' || typeof v === 'boolean')) texts.push(String(v));
      else return { ok: false, message: `Header ${JSON.stringify(key).slice(0, 80)}: a value must be a string or an array of strings` };
    }
    const name = toWire(key);
    if (amiws && name.toLowerCase() === 'amiserverid') {
      const id = Number(texts[0]);
      const server = texts.length === 1 && Number.isInteger(id) ? serverById(id) : undefined;
      if (server === undefined) return { ok: false, message: `AMIServerID ${JSON.stringify(value).slice(0, 40)}: no such server` };
      headers.push(['Server', toWire(server)]);
      continue;
    }
    for (const t of texts) {
      const v = toWire(t);
      const problem = headerProblem([name, v]) ?? (name.length + v.length + 4 > CLIENT_LIMITS.maxLineBytes ? `${DECODE_ERROR_TEXT.LINE_TOO_LONG} (header ${name})` : undefined);
      if (problem !== undefined) return { ok: false, message: problem };
      headers.push([name, v]);
    }
    if (headers.length > CLIENT_LIMITS.maxHeaders) return { ok: false, message: DECODE_ERROR_TEXT.TOO_MANY_HEADERS };
  }
  return { ok: true, action: { headers } };
}

const OPEN = Buffer.from('{"type":', 'latin1');
const DATA = Buffer.from(',"data":', 'latin1');
const CLOSE = Buffer.from('}', 'latin1');

/**
 * The frame of one message. `json` is the json format's encoding of it (one object and a line
 * feed, as formats/json.ts writes it: an event's shared bytes); `id` an event's feed id.
 */
export function messageFrame(
  envelope: Envelope,
  kind: 'response' | 'event',
  message: AmiMessage,
  json: Buffer,
  server: FrameServer | undefined,
  id?: number,
): Buffer {
  const end = json.length > 0 && json[json.length - 1] === 0x0a ? json.length - 1 : json.length;
  let head: string;
  if (envelope === 'amiws') {
    const type = message.follows !== undefined ? 5 : messageKind(message) === 'event' ? 3 : 4;
    head = `${type},"server_id":${server?.id ?? 0},"server_name":${JSON.stringify(server?.name ?? '')},"ssl":${server?.tls ?? false}`;
  } else {
    head = `"${kind}"${id === undefined ? '' : `,"id":${id}`},"server":${server === undefined ? 'null' : JSON.stringify(server.name)}`;
  }
  return Buffer.concat([OPEN, Buffer.from(head, 'utf8'), DATA, json.subarray(0, end), CLOSE]);
}

/** The frame that tells a client its frame was not read (the socket stays open). */
export function errorFrame(message: string): Buffer {
  return Buffer.from(JSON.stringify({ type: 'error', message }), 'utf8');
}
