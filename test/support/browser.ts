import { access, constants } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** The system's Chromium (Debian's `chromium` package); tests never download a browser. */
export const CHROMIUM_PATH = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';

export interface LaunchedBrowser {
  browser: Browser;
  /** Closes the browser; Playwright removes the profile directory it made for it. */
  close(): Promise<void>;
}

/**
 * A headless Chromium with a fresh, throwaway profile and no traffic of its own.
 * Fails with a message saying what to install when there is no Chromium: browser
 * tests must fail, not skip, where the browser is missing.
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set TANDEM_CHROMIUM to its path`,
    );
  }
  // Playwright adds --headless and --no-sandbox itself (headless, chromiumSandbox: false) and
  // refuses --user-data-dir in launch(): it creates a temporary profile and deletes it on close.
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return { browser, close: () => browser.close() };
}

/** `test-artifacts/` at the repository root (git-ignored), created if missing: screenshots go here. */
export function artifactsDir(): string {
  const dir = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}
