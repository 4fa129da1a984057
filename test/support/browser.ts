import { access, constants, mkdtemp, rename, rm } from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** Where a system Chromium is looked for (Debian's `chromium` package) unless TANDEM_CHROMIUM names one. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Which Chromium the browser tests run, and why that one. */
export interface ChromiumChoice {
  executablePath: string;
  source: 'TANDEM_CHROMIUM' | 'system' | 'npm';
}

/**
 * The Chromium to drive: the one TANDEM_CHROMIUM names (it must exist); else
 * the system's at `systemPath`; else the headless Chromium that the
 * `@sparticuz/chromium` dev dependency carries, so `npm ci && npm test` needs
 * nothing else on the machine. Tests never download a browser.
 */
export async function chooseChromium(
  options: { env?: NodeJS.ProcessEnv; systemPath?: string } = {},
): Promise<ChromiumChoice> {
  const env = options.env ?? process.env;
  const named = env['TANDEM_CHROMIUM'];
  if (named !== undefined && named !== '') {
    if (!(await executable(named)))
      throw new Error(`TANDEM_CHROMIUM=${named} is not an executable file: fix the path or unset it`);
    return { executablePath: named, source: 'TANDEM_CHROMIUM' };
  }
  const system = options.systemPath ?? SYSTEM_CHROMIUM;
  if (await executable(system)) return { executablePath: system, source: 'system' };
  return { executablePath: await npmChromium(), source: 'npm' };
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let unpacking: Promise<string> | undefined;

/**
 * The npm package's Chromium, unpacked once per package version into a
 * directory of its own. The package inflates into os.tmpdir() and trusts
 * any file already there, so a shared /tmp/chromium could be half-written by
 * another test file or another checkout; here each unpack goes to a fresh
 * directory that is renamed into place whole.
 */
function npmChromium(): Promise<string> {
  return (unpacking ??= unpackNpmChromium());
}

async function unpackNpmChromium(): Promise<string> {
  if (arch() !== 'x64')
    throw new Error(
      `no system Chromium, and @sparticuz/chromium carries an x64 build only (this machine is ${arch()}): ` +
        `install chromium or set TANDEM_CHROMIUM to its path`,
    );
  // The package exports no package.json; its root is two folders above its CommonJS entry.
  const root = join(dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium')), '..', '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const home = join(tmpdir(), `tandem-chromium-${version}`);
  const binary = join(home, 'chromium');
  if (existsSync(binary)) return binary;
  const { default: Chromium } = await import('@sparticuz/chromium');
  const fresh = await mkdtemp(`${home}.unpacking-`);
  const tmp = process.env['TMPDIR'];
  // executablePath() reads os.tmpdir() synchronously, before its first await: point it at `fresh` for the call.
  process.env['TMPDIR'] = fresh;
  let inflated: Promise<string>;
  try {
    inflated = Chromium.executablePath();
  } finally {
    if (tmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = tmp;
  }
  try {
    if ((await inflated) !== join(fresh, 'chromium'))
      throw new Error(`@sparticuz/chromium ${version} unpacked somewhere other than ${fresh}`);
    await rename(fresh, home);
  } catch (error) {
    await rm(fresh, { recursive: true, force: true });
    // Another process renamed its own unpack into place first: use that one.
    if (!existsSync(binary)) throw error;
  }
  return binary;
}

export interface LaunchedBrowser {
  browser: Browser;
  /** Which Chromium runs. */
  chromium: ChromiumChoice;
  /** Closes the browser; Playwright removes the profile directory it made for it. */
  close(): Promise<void>;
}

/**
 * A headless Chromium with a fresh, throwaway profile and no traffic of its own.
 * Fails with a message saying what is wrong when no Chromium can run: browser
 * tests must fail, not skip.
 */
export async function launchChromium(
  options: { env?: NodeJS.ProcessEnv; systemPath?: string } = {},
): Promise<LaunchedBrowser> {
  const choice = await chooseChromium(options);
  // Playwright adds --headless and --no-sandbox itself (headless, chromiumSandbox: false) and
  // refuses --user-data-dir in launch(): it creates a temporary profile and deletes it on close.
  const browser = await chromium.launch({
    executablePath: choice.executablePath,
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
  return { browser, chromium: choice, close: () => browser.close() };
}

/** `test-artifacts/` at the repository root (git-ignored), created if missing: screenshots go here. */
export function artifactsDir(): string {
  const dir = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}
