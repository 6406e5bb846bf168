/**
 * Malformed input from a client is answered as Asterisk answers it (line too long, too many
 * headers, missing action), the session stays usable, nobody else is disturbed, and nothing a
 * client sends — not even 1 MiB without a newline — takes amiplex down.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { header, isEvent, isResponse, responseTo, type AmiTestClient, type Received } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, type ProxyFixture } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const LINE_TOO_LONG = 'Failed to parse message: line too long';
const TOO_MANY = 'Too many lines in message or allocation failure';
const MISSING = 'Missing action in request';

/** The responses received from `from` on, as raw text. */
function responsesFrom(c: AmiTestClient, from: number): string[] {
  return c.messages.slice(from).filter(isResponse).map((m) => m.raw);
}

/** Sends raw bytes, then a Ping, and returns every response up to the Ping's (exclusive). */
async function answersTo(c: AmiTestClient, bytes: string | Buffer, marker: string): Promise<Received[]> {
  const from = c.messages.length;
  c.send(bytes);
  c.sendAction([['Action', 'Ping'], ['ActionID', marker]]);
  const pong = await c.waitFor(responseTo(marker), 3000, from);
  expect(header(pong, 'Ping')).toBe('Pong');
  return c.messages.slice(from, pong.index).filter(isResponse);
}

async function twoClients(): Promise<{ fx: ProxyFixture; c: AmiTestClient; bystander: AmiTestClient }> {
  const fx = await startFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 50 } }] });
  const c = await fx.loggedIn('alice', 'off', 'sender');
  const bystander = await fx.loggedIn('alice', 'on', 'bystander');
  return { fx, c, bystander };
}

/** The bystander still gets events and answers. */
async function undisturbed(bystander: AmiTestClient): Promise<void> {
  const from = bystander.messages.length;
  const ping = await bystander.action([['Action', 'Ping'], ['ActionID', `by-${from}`]]);
  expect(header(ping, 'Ping')).toBe('Pong');
  await bystander.waitFor((m) => isEvent(m) && header(m, 'ActionID') === undefined, 3000, from);
  expect(bystander.filter((m) => isResponse(m) && header(m, 'Response') === 'Error').map((m) => m.raw)).toEqual([]);
}

describe('malformed input', () => {
  it('a header line over 1024 bytes gets line too long, with the ActionID that came with it', async () => {
    const { c, bystander } = await twoClients();
    const long = 'v'.repeat(2000);
    const answers = await answersTo(c, `Action: Setvar\r\nVariable: BIG\r\nValue: ${long}\r\nActionID: bigset\r\n\r\n`, 'after-big');
    expect(answers.map((m) => m.raw)).toEqual([`Response: Error\r\nActionID: bigset\r\nMessage: ${LINE_TOO_LONG}\r\n\r\n`]);
    await undisturbed(bystander);
  });

  it('a too-long ActionID line gets line too long without an ActionID', async () => {
    const { c, bystander } = await twoClients();
    const answers = await answersTo(c, `Action: Ping\r\nActionID: ${'x'.repeat(5000)}\r\n\r\n`, 'after-5000');
    expect(answers.map((m) => m.raw)).toEqual([`Response: Error\r\nMessage: ${LINE_TOO_LONG}\r\n\r\n`]);
    await undisturbed(bystander);
  });

  it('a line of exactly 1024 bytes with CRLF is accepted; 1025 is too long', async () => {
    const { c } = await twoClients();
    // "ActionID: " + id + CRLF = 1024 bytes.
    const id1022 = 'a'.repeat(1024 - 'ActionID: '.length - 2);
    const ok = await c.action([['Action', 'Ping'], ['ActionID', id1022]]);
    expect(header(ok, 'Ping')).toBe('Pong');
    const answers = await answersTo(c, `Action: Ping\r\nActionID: ${id1022}b\r\n\r\n`, 'after-1025');
    expect(answers.map((m) => m.raw)).toEqual([`Response: Error\r\nMessage: ${LINE_TOO_LONG}\r\n\r\n`]);
  });

  it('a line too long before login is answered and the session can still log in', async () => {
    const fx = await startFixture();
    const c = await fx.client();
    const from = c.messages.length;
    c.send(`Action: Login\r\nUsername: ${'u'.repeat(3000)}\r\nSecret: x\r\nActionID: huge-login\r\n\r\n`);
    const res = await c.waitFor(isResponse, 3000, from);
    expect(res.raw).toBe(`Response: Error\r\nActionID: huge-login\r\nMessage: ${LINE_TOO_LONG}\r\n\r\n`);
    await c.login('alice', 'alice-secret', 'off');
  });

  it('130 header lines get Too many lines, 127 are fine', async () => {
    const { c, bystander } = await twoClients();
    const many = ['Action: Ping', 'ActionID: many', ...Array.from({ length: 128 }, (_, i) => `X-H${i}: v`)].join('\r\n') + '\r\n\r\n';
    const answers = await answersTo(c, many, 'after-many');
    expect(answers.map((m) => m.raw)).toEqual([`Response: Error\r\nActionID: many\r\nMessage: ${TOO_MANY}\r\n\r\n`]);
    const fine = ['Action: Ping', 'ActionID: fine', ...Array.from({ length: 125 }, (_, i) => `X-H${i}: v`)].join('\r\n') + '\r\n\r\n';
    const from = c.messages.length;
    c.send(fine);
    const res = await c.waitFor(responseTo('fine'), 3000, from);
    expect(header(res, 'Ping')).toBe('Pong');
    await undisturbed(bystander);
  });

  it('every bare blank line gets Missing action in request', async () => {
    const { c, bystander } = await twoClients();
    const answers = await answersTo(c, '\r\n\r\n\n', 'after-blanks');
    expect(answers.map((m) => m.raw)).toEqual(Array(3).fill(`Response: Error\r\nMessage: ${MISSING}\r\n\r\n`));
    await undisturbed(bystander);
  });

  it('a message without Action (or with an empty one) gets Missing action in request with its ActionID', async () => {
    const { c } = await twoClients();
    const answers = await answersTo(c, 'ActionID: no-action\r\nFoo: bar\r\n\r\nAction: \r\nActionID: empty-action\r\n\r\n', 'after-missing');
    expect(answers.map((m) => m.raw)).toEqual([
      `Response: Error\r\nActionID: no-action\r\nMessage: ${MISSING}\r\n\r\n`,
      `Response: Error\r\nActionID: empty-action\r\nMessage: ${MISSING}\r\n\r\n`,
    ]);
  });

  it('lines without a colon are ignored, as Asterisk ignores them', async () => {
    const { c } = await twoClients();
    const answers = await answersTo(c, 'Action Ping\r\nActionID: m1\r\n\r\nthis is garbage\r\nAction: Ping\r\nActionID: m2\r\n\r\n', 'after-colon');
    expect(answers.map((m) => m.raw.replace(/Timestamp: [\d.]+/, 'Timestamp: T'))).toEqual([
      `Response: Error\r\nActionID: m1\r\nMessage: ${MISSING}\r\n\r\n`,
      'Response: Success\r\nActionID: m2\r\nPing: Pong\r\nTimestamp: T\r\n\r\n',
    ]);
  });

  it('garbage bytes do not break the session', async () => {
    const { c, bystander } = await twoClients();
    const junk = Buffer.concat([
      Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x7f, 0x80, 0x0d, 0x0a]),
      Buffer.from('this is not AMI at all\r\n\x01\x02\x03\r\n\r\n'),
      Buffer.from('Action: Ping\rActionID: cr-only\r\n\r\n'),
    ]);
    const answers = await answersTo(c, junk, 'after-junk');
    // Whatever amiplex answers, each answer is a well-formed error and nobody else is touched.
    for (const a of answers) expect(header(a, 'Response')).toBe('Error');
    expect(c.decodeErrors).toEqual([]);
    await undisturbed(bystander);
  });

  it('an unknown action is answered by the PBX, the session stays', async () => {
    const { c } = await twoClients();
    const res = await c.action([['Action', 'NoSuchThing'], ['ActionID', 'nst']]);
    expect(res.raw).toBe('Response: Error\r\nActionID: nst\r\nMessage: Invalid/unknown command: NoSuchThing. Use Action: ListCommands to show available commands.\r\n\r\n');
  });

  it('1 MiB without a newline neither kills amiplex nor the session; others are undisturbed', async () => {
    const { fx, c, bystander } = await twoClients();
    const rssBefore = process.memoryUsage().rss;
    const mib = Buffer.alloc(1024 * 1024, 'z');
    // Written in pieces, as a real flood would arrive.
    for (let i = 0; i < mib.length; i += 64 * 1024) c.send(mib.subarray(i, i + 64 * 1024));
    const answers = await answersTo(c, '\r\n\r\n', 'after-1mib');
    expect(answers.map((m) => m.raw)).toEqual([`Response: Error\r\nMessage: ${LINE_TOO_LONG}\r\n\r\n`]);
    expect(c.isOpen).toBe(true);
    await undisturbed(bystander);
    expect(fx.proxy.hub.clients.size).toBe(2);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('a message split over many writes, byte by byte, is one action', async () => {
    const { c } = await twoClients();
    const bytes = Buffer.from('Action: Ping\r\nActionID: split\r\n\r\n');
    const from = c.messages.length;
    for (const b of bytes) {
      c.send(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    const res = await c.waitFor(responseTo('split'), 3000, from);
    expect(header(res, 'Ping')).toBe('Pong');
    expect(responsesFrom(c, from)).toHaveLength(1);
  });
});
