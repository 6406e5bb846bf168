/**
 * The status page in a real browser (the Chromium of the npm package @sparticuz/chromium,
 * through playwright-core, see helpers/browser.ts) against amiplex in front of the simulated PBX generating calls: log in
 * with HTTP Basic, see the PBX card up and the clients, live events in the tail, filter and
 * pause it, place a click-to-call and see its OriginateResponse (the tail and the call share
 * the page's one WebSocket). Leaves a screenshot in
 * test/artifacts/status-page.png for a person to look at.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/clients/http/status-page.js';
import { launchBrowser, type TestBrowser } from './helpers/browser.js';
import { startHttpFixture } from './helpers/http-fixture.js';
import { stopAllFixtures, type UserSpec } from './helpers/proxy-fixture.js';

const browsers: TestBrowser[] = [];
afterEach(async () => {
  // The browser first: its event stream then ends without an error.
  await Promise.all(browsers.splice(0).map((b) => b.close()));
  await stopAllFixtures();
});

const ARTIFACTS = path.join(packageRoot(), 'test', 'artifacts');
const OPS: UserSpec = { name: 'ops', settings: { status: 'yes', channels: 'PJSIP/1001, PJSIP/1002' } };
const DESK: UserSpec = { name: 'desk', settings: { status: 'yes', context: 'from-internal' } };
const ALICE: UserSpec = { name: 'alice' };

async function open(user: UserSpec, url: string): Promise<TestBrowser> {
  const b = await launchBrowser({ httpCredentials: { username: user.name, password: `${user.name}-secret` }, viewport: { width: 1366, height: 768 } });
  browsers.push(b);
  const answer = await b.page.goto(url);
  expect(answer?.status()).toBe(200);
  return b;
}

const lineCount = (page: Page) => page.locator('#tail .line').count();
const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
const resultValue = (page: Page, key: string) => text(page, `#call-result dd[data-key="${key}"]`);

/** Calls `number` from `device` (picked or typed) and waits for the outcome to show. */
async function call(page: Page, device: { select?: string; type?: string }, number: string): Promise<string> {
  if (device.select !== undefined) await page.selectOption('#call-device-select', device.select);
  if (device.type !== undefined) await page.fill('#call-device-text', device.type);
  await page.fill('#call-number', number);
  await page.click('#call-button');
  await page.waitForSelector('#call-result[data-kind="success"], #call-result[data-kind="error"]', { timeout: 10_000 });
  return (await page.locator('#call-result').getAttribute('data-kind')) ?? '';
}

describe('the status page in a browser', () => {
  it('PBX card up, clients, live tail with filter and pause, and a click-to-call answered by its OriginateResponse', { timeout: 60_000 }, async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1', sim: { rate: 25 } }], users: [OPS, ALICE] });
    await h.fx.loggedIn('alice', 'on', 'alice');
    const { page, problems } = await open(OPS, `http://${h.host}:${h.port}/`);

    // The PBX card: up (green), its AMI version and address, then a rate once two samples were taken.
    const card = page.locator('.card[data-server="pbx1"]');
    await card.locator('.state', { hasText: 'up' }).waitFor({ timeout: 5000 });
    expect(await card.getAttribute('data-state')).toBe('up');
    expect(await card.locator('dd').nth(0).textContent()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await card.locator('dd').nth(1).textContent()).toBe(`127.0.0.1:${h.fx.pbx('pbx1').port}`);
    await card.locator('.big', { hasText: /^\d/ }).waitFor({ timeout: 6000 });
    expect(await text(page, '#me')).toBe('ops');
    // Without [cluster]: no cluster strip, no holder on the card, the page's own title.
    expect(await page.locator('#cluster').isVisible()).toBe(false);
    expect(await card.locator('dt:visible').allTextContents()).toEqual(['AMI version', 'Address', 'Uptime']);
    expect(await card.getAttribute('data-holder')).toBeNull();
    expect(await page.title()).toBe('amiplex · status');

    // The clients: alice's raw AMI connection, and this page's own WebSocket.
    const alice = page.locator('#clients-body tr', { has: page.locator('td.col-user', { hasText: /^alice$/ }) });
    await alice.waitFor({ timeout: 5000 });
    expect(await alice.locator('.badge').textContent()).toBe('standard');
    expect(await alice.locator('td.col-remote').textContent()).toMatch(/^127\.0\.0\.1:\d+$/);
    const stream = page.locator('#clients-body tr', { has: page.locator('.badge', { hasText: /^websocket$/ }) });
    await stream.waitFor({ timeout: 5000 });
    expect(await stream.locator('td.col-user').textContent()).toBe('ops');

    // Click-to-call from one of ops's devices (a select, as ops has `channels`); the context is asked for.
    expect(await page.locator('#call-device-select option').allTextContents()).toEqual(['PJSIP/1001', 'PJSIP/1002']);
    expect(await page.locator('#call-device-text').isVisible()).toBe(false);
    expect(await page.locator('#call-context').inputValue()).toBe('from-internal');
    expect(await call(page, { select: 'PJSIP/1001' }, '1002')).toBe('success');
    expect(await resultValue(page, 'Response')).toBe('Success');
    expect(await resultValue(page, 'Reason')).toBe('4 (answered)');
    expect(await resultValue(page, 'Channel')).toMatch(/^PJSIP\/1001-[0-9a-f]{8}$/);
    expect(await resultValue(page, 'Uniqueid')).toMatch(/^amiplex-web-[0-9a-f]{16}$/);

    // The tail: live events, among them the call's.
    await page.locator('#tail .line').nth(9).waitFor({ timeout: 10_000 });
    expect(await text(page, '#tail-state')).toBe('live');
    const all = await lineCount(page);

    // The filter: by a value (the call's Uniqueid), then by several words (each must be in the line, case ignored).
    const uniqueid = await resultValue(page, 'Uniqueid');
    await page.fill('#tail-filter', uniqueid.toUpperCase());
    const ofTheCall = await page.locator('#tail .line').evaluateAll((lines) => lines.map((l) => l.getAttribute('data-event') ?? ''));
    expect(ofTheCall).toContain('Newchannel');
    // Its OriginateResponse came to this page as the Originate's answer only, not a second time as an event.
    await page.fill('#tail-filter', 'originateresponse');
    expect(await page.locator('#tail .line').count()).toBe(0);
    await page.fill('#tail-filter', 'Newchannel pjsip/1001');
    const filtered = await page.locator('#tail .line').evaluateAll((lines) => lines.map((l) => l.textContent ?? ''));
    expect(filtered.length).toBeGreaterThanOrEqual(1);
    for (const line of filtered) {
      expect(line).toContain('Newchannel');
      expect(line).toContain('PJSIP/1001');
    }
    await page.fill('#tail-filter', '');
    expect(await lineCount(page)).toBeGreaterThanOrEqual(all);

    // Pause: the view stands still while events are counted; the call form still gets its answer.
    await page.click('#tail-pause');
    expect(await page.locator('#tail-pause').getAttribute('aria-pressed')).toBe('true');
    const frozen = await page.locator('#tail .line').evaluateAll((lines) => lines.map((l) => l.textContent ?? ''));
    expect(await call(page, { select: 'PJSIP/1002' }, '1001')).toBe('success');
    expect(await resultValue(page, 'Channel')).toMatch(/^PJSIP\/1002-/);
    await page.locator('#tail-count', { hasText: /paused, [1-9]/ }).waitFor({ timeout: 5000 });
    expect(await page.locator('#tail .line').evaluateAll((lines) => lines.map((l) => l.textContent ?? ''))).toEqual(frozen);
    await page.click('#tail-pause');
    expect(await page.locator('#tail-pause').textContent()).toBe('Pause');
    await page.fill('#tail-filter', await resultValue(page, 'Uniqueid'));
    expect(await page.locator('#tail .line').count()).toBeGreaterThanOrEqual(1);
    await page.fill('#tail-filter', '');

    // A screenshot of the whole page as a person sees it, after the next refresh.
    await page.locator('#tail-filter').blur();
    await page.mouse.move(0, 0);
    await page.waitForTimeout(2200);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page.png') });
    expect(problems).toEqual([]);
  });

  it('a user with a forced context and no devices types a device; a call that fails shows its OriginateResponse too', { timeout: 60_000 }, async () => {
    const h = await startHttpFixture({ pbxes: [{ name: 'pbx1' }], users: [DESK] });
    const { page, problems } = await open(DESK, `http://${h.host}:${h.port}/`);
    // The form as status.json configured it (the text field is also visible before that: wait for the servers it lists).
    await page.locator('#call-server option', { hasText: 'pbx1' }).waitFor({ state: 'attached', timeout: 5000 });
    await page.locator('#call-device-text').waitFor({ state: 'visible', timeout: 5000 });
    expect(await page.locator('#call-device-select').isVisible()).toBe(false);
    expect(await page.locator('#call-context-label').isVisible()).toBe(false);
    expect(await page.locator('#call-server option').allTextContents()).toEqual(['pbx1']);
    // The tail must be live, or the outcome of the call would be missed.
    await page.locator('#tail-state', { hasText: 'live' }).waitFor({ timeout: 5000 });

    expect(await call(page, { type: 'PJSIP/1003' }, '1001')).toBe('success');
    expect(await resultValue(page, 'Channel')).toMatch(/^PJSIP\/1003-/);

    // No such device at the PBX: the OriginateResponse says Failure, its Channel the device asked for.
    expect(await call(page, { type: 'PJSIP/9999' }, '1001')).toBe('error');
    expect(await resultValue(page, 'Response')).toBe('Failure');
    expect(await resultValue(page, 'Reason')).toMatch(/^0 /);
    expect(await resultValue(page, 'Channel')).toBe('PJSIP/9999');
    expect(problems).toEqual([]);
  });
});
