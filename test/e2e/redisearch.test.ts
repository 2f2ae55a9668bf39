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

// Issue acceptance as a user would try it: the RediSearch tree at dede3e11 (LOCKPATH_REDISEARCH_DIR)
// opened in a real VS Code with the extension installed.
// LOCKPATH_CODE_SERVER points at code-server's `package` folder (test/e2e/setup.sh prints it).
const codeServer = process.env.LOCKPATH_CODE_SERVER;
const chromiumPath = process.env.LOCKPATH_CHROMIUM ?? '/usr/bin/chromium';
const vsix = path.join(REPO, 'lockpath.vsix');
const artifacts = path.join(REPO, 'test-artifacts', 'e2e-redisearch');
const rsDir = process.env.LOCKPATH_REDISEARCH_DIR;
const skip = !rsDir ? 'LOCKPATH_REDISEARCH_DIR is not set' : !codeServer ? 'LOCKPATH_CODE_SERVER is not set (run test/e2e/setup.sh)'
  : !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}`
    : !existsSync(vsix) ? 'lockpath.vsix is missing (npm run package)' : false;
if (skip) console.log(`# skipping the RediSearch VS Code check: ${skip}`);

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
function where(file: string, needle: string, offset = 0, after = ''): string {
  const text = readFileSync(path.join(rsDir!, file), 'utf8');
  const idx = (after === 'last' ? text.lastIndexOf(needle) : text.indexOf(needle, after ? text.indexOf(after) : 0)) + offset;
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
  // The tree is opened where it is (read only); nothing is written into it.
  workspaceDir = rsDir!;
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

test('RediSearch: barrier_wait_and_destroy in thpool.c carries the deadlock and its hover explains set_workers and the workers', { skip, timeout: 240_000 }, () => ui('rs-hover', async () => {
  // The MOD-11658 barrier: the one in redisearch_thpool_broadcast_new_state, the last in the file.
  await openFile('deps/thpool/thpool.c', where('deps/thpool/thpool.c', 'barrier_wait_and_destroy(&barrier)', 0, 'last'));
  await page.locator('#status\\.problems, .statusbar-item', { hasText: /lockpath: \d+ deadlock risk/ }).first().waitFor({ state: 'attached', timeout: 120_000 });
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  const hover = page.locator('.monaco-hover').filter({ hasText: 'lockpath' }).first();
  await hover.waitFor({ timeout: 30_000 });
  await page.waitForTimeout(400); // let the fade-in finish before the screenshot
  await shot('rs-hover-barrier');
  const text = await hover.innerText();
  assert.match(text, /deadlock-risk: set_workers \(config-set\) holds the GIL and waits in barrier_wait_and_destroy/);
  assert.match(text, /path: set_workers \(config-set\) — set_workers → workersThreadPool_SetNumWorkers → /);
  assert.match(text, /waits for thread `?thread_do`?[^\n]*takes the GIL/);
  await page.keyboard.press('Escape');
}));

test('RediSearch: set_workers in src/config.c has a CodeLens saying it runs with the GIL and may deadlock', { skip, timeout: 120_000 }, () => ui('rs-codelens', async () => {
  await openFile('src/config.c', where('src/config.c', 'int set_workers('));
  const lens = page.locator('.codelens-decoration', { hasText: /GIL\sheld\s·\sfrom\s\d+\sentr(y|ies)\s·\smay\sblock\s\(\d+\sdeadlock\srisks?\)/ }).first();
  await lens.waitFor({ state: 'attached', timeout: 60_000 });
  await shot('rs-codelens-set-workers');
}));

test('RediSearch: outgoing calls of set_workers include triggerConnPerShard through COORDINATOR_TRIGGER', { skip, timeout: 120_000 }, () => ui('rs-call-hierarchy', async () => {
  await openFile('src/config.c', where('src/config.c', 'set_workers(const', 2));
  await page.keyboard.press('Shift+Alt+H');
  await page.locator('.monaco-tl-contents', { hasText: 'set_workers' }).first().waitFor({ timeout: 30_000 });
  await page.locator('[aria-label*="Show Outgoing Calls"], .codicon-call-outgoing').first().click({ timeout: 10_000 }).catch(() => undefined);
  const trigger = page.locator('.monaco-tl-contents', { hasText: 'triggerConnPerShard' }).first();
  await trigger.waitFor({ timeout: 30_000 });
  assert.match(await trigger.innerText(), /COORDINATOR_TRIGGER/);
  await shot('rs-call-hierarchy');
}));
