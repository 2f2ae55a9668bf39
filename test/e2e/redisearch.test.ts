import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO } from '../support/analyze';
import { VsCodeSession, missingPrerequisite } from '../support/codeServer';

// Issue acceptance as a user would try it: the RediSearch tree at dede3e11 (LOCKPATH_REDISEARCH_DIR,
// opened read-only where it is) in a real VS Code with the extension installed.
const rsDir = process.env.LOCKPATH_REDISEARCH_DIR;
const skip = !rsDir ? 'LOCKPATH_REDISEARCH_DIR is not set' : missingPrerequisite();
if (skip) console.log(`# skipping the RediSearch VS Code check: ${skip}`);
const vscode = new VsCodeSession(rsDir ?? '', path.join(REPO, 'test-artifacts', 'e2e-redisearch'));

before(async () => { if (!skip) await vscode.start(); });
after(async () => { if (!skip) await vscode.stop(); });

test('RediSearch: barrier_wait_and_destroy in thpool.c carries the deadlock and its hover explains set_workers and the workers', { skip, timeout: 240_000 }, () => vscode.ui('rs-hover', async () => {
  // The MOD-11658 barrier: the one in redisearch_thpool_broadcast_new_state, the last in the file.
  await vscode.openFile('deps/thpool/thpool.c', vscode.where('deps/thpool/thpool.c', 'barrier_wait_and_destroy(&barrier)', 0, 'last'));
  await vscode.page.locator('.statusbar-item', { hasText: /lockpath: \d+ deadlock risk/ }).first().waitFor({ state: 'attached', timeout: 120_000 });
  const text = await vscode.hoverText('rs-hover-barrier');
  assert.match(text, /deadlock-risk: set_workers \(config-set\) holds the GIL and waits in barrier_wait_and_destroy/);
  assert.match(text, /path: set_workers \(config-set\) — set_workers → workersThreadPool_SetNumWorkers → /);
  assert.match(text, /waits for thread `?thread_do`?[^\n]*takes the GIL/);
}));

test('RediSearch: set_workers in src/config.c has a CodeLens saying it runs with the GIL and may deadlock', { skip, timeout: 120_000 }, () => vscode.ui('rs-codelens', async () => {
  await vscode.openFile('src/config.c', vscode.where('src/config.c', 'int set_workers('));
  await vscode.codeLens(/GIL\sheld\s·\sfrom\s\d+\sentr(y|ies)\s·\smay\sblock\s\(\d+\sdeadlock\srisks?\)/);
  await vscode.shot('rs-codelens-set-workers');
}));

test('RediSearch: outgoing calls of set_workers include triggerConnPerShard through COORDINATOR_TRIGGER', { skip, timeout: 120_000 }, () => vscode.ui('rs-call-hierarchy', async () => {
  await vscode.openFile('src/config.c', vscode.where('src/config.c', 'set_workers(const', 2));
  assert.match(await vscode.outgoingCallText('triggerConnPerShard', 'set_workers'), /COORDINATOR_TRIGGER/);
  await vscode.shot('rs-call-hierarchy');
}));
