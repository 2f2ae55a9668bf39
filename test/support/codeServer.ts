import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { REPO } from './analyze';

// Drives a real VS Code: code-server 4.100.3 (VS Code 1.100.3) with the packaged .vsix, in
// Debian's Chromium through playwright-core. LOCKPATH_CODE_SERVER points at code-server's
// `package` folder (test/e2e/setup.sh prints it).

export const CODE_SERVER = process.env.LOCKPATH_CODE_SERVER;
export const CHROMIUM = process.env.LOCKPATH_CHROMIUM ?? '/usr/bin/chromium';
export const VSIX = path.join(REPO, 'lockpath.vsix');

/** Why the VS Code tests cannot run here, or false. */
export function missingPrerequisite(): string | false {
  if (!CODE_SERVER) return 'LOCKPATH_CODE_SERVER is not set (run test/e2e/setup.sh)';
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  if (!existsSync(VSIX)) return 'lockpath.vsix is missing (npm run package)';
  return false;
}

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

export class VsCodeSession {
  page!: Page;
  private server: ChildProcess | undefined;
  private browser: Browser | undefined;
  private tmp = '';

  /** @param workspace the folder to open; @param artifacts where screenshots go. */
  constructor(private readonly workspace: string, private readonly artifacts: string) {}

  async start(): Promise<void> {
    // Made here, not in the constructor: a skipped test file never starts, and leaves nothing.
    this.tmp = mkdtempSync(path.join(os.tmpdir(), 'lockpath-e2e-'));
    const env = { ...process.env, XDG_DATA_HOME: path.join(this.tmp, 'xdg-data'), XDG_CONFIG_HOME: path.join(this.tmp, 'xdg-config') };
    const entry = path.join(CODE_SERVER!, 'out', 'node', 'entry.js');
    const install = spawnSync(process.execPath, [entry, '--install-extension', VSIX], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(install.status, 0, install.stderr);
    const userDir = path.join(env.XDG_DATA_HOME, 'code-server', 'User');
    mkdirSync(userDir, { recursive: true });
    writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'editor.hover.delay': 100, 'workbench.tips.enabled': false }));
    const port = await freePort();
    this.server = spawn(process.execPath, [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', this.workspace], { env, stdio: 'ignore' });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    this.page = await this.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await this.page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(this.workspace)}`);
    await this.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  }

  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    this.server?.kill();
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
  }

  async shot(name: string): Promise<void> {
    mkdirSync(this.artifacts, { recursive: true });
    await this.page.screenshot({ path: path.join(this.artifacts, `${name}.png`) });
  }

  /** Runs a UI check, keeping a screenshot of the screen when it fails. */
  async ui(name: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (err) {
      await this.shot(`FAILED-${name}`).catch(() => undefined);
      throw err;
    }
  }

  /** `line:column` (1-based) of `needle` in a workspace file: the first occurrence, the first after `after`, or the last. */
  where(file: string, needle: string, offset = 0, after: string | 'last' = ''): string {
    const text = readFileSync(path.join(this.workspace, file), 'utf8');
    const idx = (after === 'last' ? text.lastIndexOf(needle) : text.indexOf(needle, after ? text.indexOf(after) : 0)) + offset;
    const before = text.slice(0, idx);
    return `${before.split('\n').length}:${idx - before.lastIndexOf('\n')}`;
  }

  async openFile(name: string, lineCol?: string): Promise<void> {
    const page = this.page;
    await page.keyboard.press('Control+P');
    await page.keyboard.type(name, { delay: 20 });
    // Wait until the first result is the file asked for (file search lags on large trees).
    const dir = path.dirname(name) === '.' ? '' : path.dirname(name);
    await page.locator('.quick-input-list .monaco-list-row').first()
      .filter({ hasText: new RegExp(`${path.basename(name).replace('.', '\\.')}[\\s\\S]*${dir.replace(/[.]/g, '\\.')}`) })
      .waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector(`.tab.active[aria-label*="${path.basename(name)}"]`, { timeout: 15_000 });
    if (lineCol) await this.goTo(lineCol);
  }

  /** Go to `line:col`, confirmed by the status bar's cursor position (the quick input can lag). */
  async goTo(lineCol: string): Promise<void> {
    const page = this.page;
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

  /** Shows the hover at the cursor (Ctrl+K Ctrl+I) and returns its text, after a screenshot. */
  async hoverText(shotName: string): Promise<string> {
    const page = this.page;
    const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: 'lockpath' }).first();
    // A hover can appear and be hidden again by a focus change (a notification, the panel): ask
    // again until it stays.
    for (let attempt = 0; ; attempt++) {
      await page.waitForTimeout(500);
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
      try {
        await hover.waitFor({ timeout: 10_000 });
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        await page.keyboard.press('Escape');
      }
    }
    await page.waitForTimeout(400); // let the fade-in finish before the screenshot
    await this.shot(shotName);
    // The hover was displayed; read what it showed even if a later repaint has hidden it again.
    const text = (await page.locator('.monaco-hover').filter({ hasText: 'lockpath' }).first().textContent({ timeout: 5_000 })) ?? '';
    await page.keyboard.press('Escape');
    return text;
  }

  /** Text of a CodeLens matching `pattern`. VS Code keeps lens widgets `visibility: hidden` in the DOM while painting them. */
  async codeLens(pattern: RegExp): Promise<string> {
    const lens = this.page.locator('.codelens-decoration', { hasText: pattern }).first();
    await lens.waitFor({ state: 'attached', timeout: 60_000 });
    return (await lens.textContent()) ?? '';
  }

  /** Outgoing calls of the function at the cursor, as shown in the call hierarchy view. */
  async outgoingCallText(callee: string, caller: string): Promise<string> {
    const page = this.page;
    await page.keyboard.press('Shift+Alt+H');
    await page.locator('.monaco-tl-contents', { hasText: caller }).first().waitFor({ timeout: 30_000 });
    await page.locator('[aria-label*="Show Outgoing Calls"], .codicon-call-outgoing').first().click({ timeout: 10_000 }).catch(() => undefined);
    const row = page.locator('.monaco-tl-contents', { hasText: callee }).first();
    await row.waitFor({ timeout: 30_000 });
    return row.innerText();
  }
}
