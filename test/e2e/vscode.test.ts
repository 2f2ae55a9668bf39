import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, REPO } from '../support/analyze';
import { VsCodeSession, missingPrerequisite } from '../support/codeServer';

// End to end in a real VS Code: install the packaged .vsix, open the fixture workspace, and check
// what a person sees. Screenshots land in test-artifacts/e2e.
const skip = missingPrerequisite();
if (skip) console.log(`# skipping VS Code end-to-end tests: ${skip}`);

const workspace = mkdtempSync(path.join(os.tmpdir(), 'lockpath-e2e-ws-'));
cpSync(path.join(FIXTURES, 'redis_module'), workspace, { recursive: true });
const vscode = new VsCodeSession(workspace, path.join(REPO, 'test-artifacts', 'e2e'));

before(async () => { if (!skip) await vscode.start(); });
after(async () => {
  if (!skip) await vscode.stop();
  rmSync(workspace, { recursive: true, force: true });
});

test('the Problems panel shows the deadlock risk', { skip, timeout: 180_000 }, () => vscode.ui('problems', async () => {
  const page = vscode.page;
  await vscode.openFile('barrier.c');
  await page.keyboard.press('Control+Shift+M');
  const problems = page.locator('.markers-panel');
  await problems.getByText(/deadlock-risk|holds the GIL/).first().waitFor({ timeout: 90_000 });
  const text = await problems.innerText();
  assert.match(text, /\((config-set|command)\) holds the GIL and waits in barrier_wait_and_destroy/);
  assert.match(text, /deadlock-risk/);
  await vscode.shot('problems-panel');
  await page.keyboard.press('Control+J'); // close the panel again
}));

test('hovering the barrier call explains the GIL path and the workers that need the GIL', { skip, timeout: 120_000 }, () => vscode.ui('hover', async () => {
  await vscode.openFile('thpool.c', vscode.where('thpool.c', 'barrier_wait_and_destroy(&'));
  const text = await vscode.hoverText('hover-barrier');
  assert.match(text, /may block/);
  assert.match(text, /GIL held/);
  assert.match(text, /set_workers/);
  assert.match(text, /thread_loop/);
}));

test('a CodeLens above the config setter says it runs with the GIL and may deadlock', { skip, timeout: 120_000 }, () => vscode.ui('codelens', async () => {
  await vscode.openFile('config.c', vscode.where('config.c', 'static int set_workers('));
  const lens = await vscode.codeLens(/GIL\sheld\s·\sfrom\s1\sentry\s·\smay\sblock\s\(\d+\sdeadlock\srisks?\)/);
  assert.match(lens, /may\sblock/);
  await vscode.shot('codelens-set-workers');
}));

test('the call hierarchy of set_workers goes through COORDINATOR_TRIGGER to triggerConnPerShard', { skip, timeout: 120_000 }, () => vscode.ui('call-hierarchy', async () => {
  await vscode.openFile('config.c', vscode.where('config.c', 'set_workers(const', 2));
  assert.match(await vscode.outgoingCallText('triggerConnPerShard', 'set_workers'), /COORDINATOR_TRIGGER/);
  await vscode.shot('call-hierarchy');
}));
