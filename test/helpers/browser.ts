/**
 * A real browser for page tests: playwright-core driving the headless Chromium that the npm
 * package @sparticuz/chromium ships (unpacked on first use, see setup/browser-binary.mjs; no
 * system browser is needed), in a fresh profile that is removed afterwards.
 *
 *   const b = await launchBrowser({ httpCredentials: { username: 'ops', password: 'ops-secret' } });
 *   await b.page.goto(url);
 *   ...
 *   await b.close();
 *
 * Everything the page reports as broken (uncaught errors, console errors) is collected in
 * `problems`, for the test to assert there is none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { testBrowser } from '../setup/browser-binary.mjs';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface BrowserOptions {
  readonly httpCredentials?: { readonly username: string; readonly password: string };
  readonly viewport?: { readonly width: number; readonly height: number };
}

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Page errors and console errors, as text. */
  readonly problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  const { executablePath, env } = await testBrowser();
  const profile = mkdtempSync(path.join(os.tmpdir(), 'amiplex-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      env,
      headless: true,
      args: ARGS,
      viewport: { width: 1366, height: 768, ...options.viewport },
      ...(options.httpCredentials ? { httpCredentials: { ...options.httpCredentials } } : {}),
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  let closed: Promise<void> | undefined;
  return {
    context,
    page,
    problems,
    close() {
      closed ??= (async () => {
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
