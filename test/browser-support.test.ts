// The browser tests need no system Chromium: `npm ci && npm test` is enough on a fresh machine.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { chooseChromium, launchChromium } from './support/browser.ts';

const NO_SYSTEM_CHROMIUM = join(tmpdir(), 'tandem-no-such-chromium');

/** An executable file at a fresh path, removed after the test. */
function fakeExecutable(t: TestContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-fake-chromium-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

test('with no system Chromium and no TANDEM_CHROMIUM, the npm-installed Chromium renders a page', async () => {
  const launched = await launchChromium({ env: {}, systemPath: NO_SYSTEM_CHROMIUM });
  try {
    assert.equal(launched.chromium.source, 'npm');
    const page = await launched.browser.newPage();
    await page.setContent('<h1>tandem</h1><p id="n"></p><script>n.textContent = 6 * 7</script>');
    assert.equal(await page.textContent('h1'), 'tandem');
    assert.equal(await page.textContent('#n'), '42');
  } finally {
    await launched.close();
  }
});

test('a system Chromium is preferred to the npm-installed one when there is one', async (t) => {
  const system = fakeExecutable(t, 'chromium');
  assert.deepEqual(await chooseChromium({ env: {}, systemPath: system }), {
    executablePath: system,
    source: 'system',
  });
});

test('TANDEM_CHROMIUM wins over a system Chromium, and a path that is not there is refused by name', async (t) => {
  const named = fakeExecutable(t, 'my-chromium');
  const system = fakeExecutable(t, 'chromium');
  assert.deepEqual(await chooseChromium({ env: { TANDEM_CHROMIUM: named }, systemPath: system }), {
    executablePath: named,
    source: 'TANDEM_CHROMIUM',
  });
  await assert.rejects(
    chooseChromium({ env: { TANDEM_CHROMIUM: `${named}-missing` }, systemPath: system }),
    /TANDEM_CHROMIUM=.*missing is not an executable file/,
  );
});
