import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { FIXTURES, REPO } from '../support/analyze';

// End to end in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven through Debian's
// Chromium: install the packaged .vsix, open the fixture workspace, and check what a person sees.
// LOCKPATH_CODE_SERVER points at code-server's `package` folder (test/e2e/setup.sh prints it).
const codeServer = process.env.LOCKPATH_CODE_SERVER;
const chromiumPath = process.env.LOCKPATH_CHROMIUM ?? '/usr/bin/chromium';
const vsix = path.join(REPO, 'lockpath.vsix');
const artifacts = path.join(REPO, 'test-artifacts', 'e2e');
const skip = !codeServer ? 'LOCKPATH_CODE_SERVER is not set (run test/e2e/setup.sh)'
  : !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}`
    : !existsSync(vsix) ? 'lockpath.vsix is missing (npm run package)' : false;
if (skip) console.log(`# skipping VS Code end-to-end tests: ${skip}`);

let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let tmp: string;
let workspaceDir: string;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${url}`);
}

async function shot(name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

/** `line:column` (1-based) of the first occurrence of `needle` in a fixture file. */
function where(file: string, needle: string, offset = 0): string {
  const text = readFileSync(path.join(FIXTURES, 'redis_module', file), 'utf8');
  const idx = text.indexOf(needle) + offset;
  const before = text.slice(0, idx);
  return `${before.split('\n').length}:${idx - before.lastIndexOf('\n')}`;
}

async function openFile(name: string, line?: string): Promise<void> {
  await page.keyboard.press('Control+P');
  await page.keyboard.type(name, { delay: 20 });
  // Wait until the first result is the file asked for (file search lags on large trees).
  const dir = path.dirname(name) === '.' ? '' : path.dirname(name);
  await page.locator('.quick-input-list .monaco-list-row').first()
    .filter({ hasText: new RegExp(`${path.basename(name).replace('.', '\\.')}[\\s\\S]*${dir.replace(/[.]/g, '\\.')}`) })
    .waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.waitForSelector(`.tab.active[aria-label*="${path.basename(name)}"]`, { timeout: 15_000 });
  if (line) await goTo(line);
}

/** Go to `line:col`, confirmed by the status bar's cursor position (the quick input can lag). */
async function goTo(lineCol: string): Promise<void> {
  const [line, col] = lineCol.split(':');
  const status = page.locator('#status\\.editor\\.selection');
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').waitFor({ timeout: 10_000 });
    await page.keyboard.type(lineCol, { delay: 20 });
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    try {
      await status.filter({ hasText: new RegExp(`Ln ${line}, Col ${col}\\b`) }).waitFor({ timeout: 5_000 });
      return;
    } catch {
      await page.keyboard.press('Escape');
    }
  }
  throw new Error(`could not move the cursor to ${lineCol}`);
}

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lockpath-e2e-'));
  workspaceDir = path.join(tmp, 'workspace');
  cpSync(path.join(FIXTURES, 'redis_module'), workspaceDir, { recursive: true });
  const env = { ...process.env, XDG_DATA_HOME: path.join(tmp, 'xdg-data'), XDG_CONFIG_HOME: path.join(tmp, 'xdg-config') };
  const entry = path.join(codeServer!, 'out', 'node', 'entry.js');
  const install = spawnSync(process.execPath, [entry, '--install-extension', vsix], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(install.status, 0, install.stderr);
  const userDir = path.join(env.XDG_DATA_HOME, 'code-server', 'User');
  mkdirSync(userDir, { recursive: true });
  writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'editor.hover.delay': 100, 'workbench.tips.enabled': false }));
  const port = await freePort();
  server = spawn(process.execPath, [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', workspaceDir], { env, stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspaceDir)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  if (server?.pid) server.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Runs a UI check, keeping a screenshot of the screen when it fails. */
async function ui(name: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (err) {
    await shot(`FAILED-${name}`).catch(() => undefined);
    throw err;
  }
}

test('the Problems panel shows the deadlock risk', { skip, timeout: 180_000 }, () => ui('problems', async () => {
  await openFile('barrier.c');
  await page.keyboard.press('Control+Shift+M');
  const problems = page.locator('.markers-panel');
  await problems.getByText(/deadlock-risk|holds the GIL/).first().waitFor({ timeout: 90_000 });
  const text = await problems.innerText();
  assert.match(text, /\(config-set\) holds the GIL and waits in barrier_wait_and_destroy|\(command\) holds the GIL and waits in barrier_wait_and_destroy/);
  assert.match(text, /deadlock-risk/);
  await shot('problems-panel');
  await page.keyboard.press('Control+J'); // close the panel again
}));

test('hovering the barrier call explains the GIL path and the workers that need the GIL', { skip, timeout: 120_000 }, () => ui('hover', async () => {
  await openFile('thpool.c', where('thpool.c', 'barrier_wait_and_destroy(&'));
  // Show Hover at the cursor (Ctrl+K Ctrl+I), which Ctrl+G put on the call.
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  const hover = page.locator('.monaco-hover').filter({ hasText: 'lockpath' }).first();
  await hover.waitFor({ timeout: 30_000 });
  await page.waitForTimeout(400); // let the fade-in finish before the screenshot
  await shot('hover-barrier');
  const text = await hover.innerText();
  assert.match(text, /may block/);
  assert.match(text, /GIL held/);
  assert.match(text, /set_workers/);
  assert.match(text, /thread_loop/);
  await page.keyboard.press('Escape');
}));

test('a CodeLens above the config setter says it runs with the GIL and may deadlock', { skip, timeout: 120_000 }, () => ui('codelens', async () => {
  await openFile('config.c', where('config.c', 'static int set_workers('));
  const lens = page.locator('.codelens-decoration', { hasText: /GIL\sheld\s·\sfrom\s1\sentry\s·\smay\sblock\s\(\d+\sdeadlock\srisks?\)/ }).first();
  // VS Code keeps lens widgets `visibility: hidden` in the DOM while painting them: wait for attachment.
  await lens.waitFor({ state: 'attached', timeout: 60_000 });
  assert.match(await lens.textContent() ?? '', /may\sblock/);
  await shot('codelens-set-workers');
}));

test('the call hierarchy of set_workers goes through COORDINATOR_TRIGGER to triggerConnPerShard', { skip, timeout: 120_000 }, () => ui('call-hierarchy', async () => {
  await openFile('config.c', where('config.c', 'set_workers(const', 2));
  await page.keyboard.press('Shift+Alt+H');
  const tree = page.locator('.call-hierarchy, [id="workbench.view.references"]').first();
  await page.locator('.monaco-tl-contents', { hasText: 'set_workers' }).first().waitFor({ timeout: 30_000 });
  // Switch the peek to outgoing calls.
  await page.locator('[aria-label*="Show Outgoing Calls"], .codicon-call-outgoing').first().click({ timeout: 10_000 }).catch(() => undefined);
  const trigger = page.locator('.monaco-tl-contents', { hasText: 'triggerConnPerShard' }).first();
  await trigger.waitFor({ timeout: 30_000 });
  assert.match(await trigger.innerText(), /COORDINATOR_TRIGGER/);
  void tree;
  await shot('call-hierarchy');
}));
