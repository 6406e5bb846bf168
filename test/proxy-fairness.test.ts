/**
 * One client cannot hurt the others: its malformed input is answered as Asterisk answers it but
 * at a bounded rate (malformed_rate), and a client that keeps a flood up is disconnected
 * (malformed_timeout), logged and counted, while the others are served meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { header, isResponse, type Received } from './helpers/ami-test-client.js';
import { startFixture, stopAllFixtures, waitUntil } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const MISSING = 'Response: Error\r\nMessage: Missing action in request\r\n\r\n';
const isMissing = (m: Received) => isResponse(m) && m.raw === MISSING;

describe('a flood of malformed input', () => {
  it('is answered one for one as Asterisk does, at most malformed_rate a second; kept up, the client is disconnected', async () => {
    const fx = await startFixture({ general: { malformed_rate: 50, malformed_timeout: 1 } });
    const c = await fx.loggedIn('alice', 'off', 'flooder');
    const bystander = await fx.loggedIn('alice', 'off', 'bystander');
    // A few blank lines: one answer each, at once, byte for byte as Asterisk's.
    c.send('\r\n\r\n\n');
    await c.waitForCount(isMissing, 3);
    // 20,000 of them: answered no faster than the rate (a burst of 50, then 50 a second).
    const start = Date.now();
    c.send('\r\n'.repeat(20_000));
    await new Promise((r) => setTimeout(r, 500));
    const answered = c.count(isMissing) - 3;
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThanOrEqual(50 + Math.ceil((50 * (Date.now() - start)) / 1000) + 1);
    // Meanwhile another client is served as usual.
    const pong = await bystander.action([['Action', 'Ping'], ['ActionID', 'by']]);
    expect(header(pong, 'Ping')).toBe('Pong');
    // Kept up for more than malformed_timeout: disconnected, logged, counted.
    await c.waitClosed(5000);
    expect(c.count(isMissing)).toBeLessThan(1000);
    await waitUntil(() => fx.proxy.hub.counters.floodingClientsDropped === 1, 2000, 'the flooding client to be counted');
    const lines = fx.logs.filter((l) => l.includes('client disconnected: malformed input kept up'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, remote: expect.any(String), malformed: expect.any(Number) });
    expect(fx.logs.filter((l) => l.includes('answered at that rate'))).toHaveLength(1);
    expect(bystander.isOpen).toBe(true);
    const again = await bystander.action([['Action', 'Ping'], ['ActionID', 'by2']]);
    expect(header(again, 'Ping')).toBe('Pong');
  });

  it('lines too long are answered at the rate too, and logged only until it applies', async () => {
    const fx = await startFixture({ general: { malformed_rate: 20, malformed_timeout: 30 } });
    const c = await fx.loggedIn('alice', 'off');
    const long = `ActionID: ${'x'.repeat(2000)}\r\n\r\n`;
    c.send(long.repeat(100));
    const tooLong = (m: Received) => isResponse(m) && header(m, 'Message') === 'Failed to parse message: line too long';
    const start = Date.now();
    await c.waitForCount(tooLong, 40, 5000);
    expect(c.count(tooLong)).toBeLessThanOrEqual(20 + Math.ceil((20 * (Date.now() - start)) / 1000) + 1);
    // Logged one by one until the rate applies, then no more (a line said so).
    expect(fx.logs.filter((l) => l.includes('malformed input from client')).length).toBeLessThan(30);
    expect(fx.logs.filter((l) => l.includes('answered at that rate'))).toHaveLength(1);
    expect(c.isOpen).toBe(true);
  });

  it('a client that stops in time stays connected, and its later actions are answered as usual', async () => {
    const fx = await startFixture({ general: { malformed_rate: 100, malformed_timeout: 2 } });
    const c = await fx.loggedIn('alice', 'off');
    c.send('\n'.repeat(150));
    const pong = await c.action([['Action', 'Ping'], ['ActionID', 'after']], 5000);
    expect(header(pong, 'Ping')).toBe('Pong');
    expect(c.count(isMissing)).toBe(150);
    // The answers to the 150 blank lines came before the Ping's, in order.
    expect(c.messages.findIndex((m) => header(m, 'ActionID') === 'after')).toBeGreaterThan(c.messages.findLastIndex(isMissing));
    expect(c.isOpen).toBe(true);
    expect(fx.proxy.hub.counters.floodingClientsDropped).toBe(0);
  });
});
