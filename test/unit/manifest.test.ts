import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expectedManifestParts } from '../../scripts/manifest';
import { COMMANDS } from '../../src/shared/protocol';
import { DEFAULT_SETTINGS, resolveSettings } from '../../src/shared/settings';
import { REPO } from '../support/analyze';

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));

test('package.json contributions match the code that owns them (run npm run sync-manifest)', () => {
  const expected = expectedManifestParts();
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(pkg[key], value, `package.json ${key}`);
});

test('every declared command is registered by the client, and the client registers nothing undeclared', () => {
  const source = readFileSync(path.join(REPO, 'src', 'client', 'extension.ts'), 'utf8');
  const registered = [...source.matchAll(/registerCommand\(COMMANDS\.(\w+)/g)].map((m) => COMMANDS[m[1] as keyof typeof COMMANDS]);
  const declared = (pkg.contributes.commands as { command: string }[]).map((c) => c.command);
  assert.deepEqual([...registered].sort(), [...declared].sort());
});

test('settings defaults: one source of truth, read back from VS Code values', () => {
  assert.deepEqual(resolveSettings(undefined), DEFAULT_SETTINGS);
  const s = resolveSettings({ severity: { stall: 'off' }, codeLens: { enabled: false }, parser: 'native' });
  assert.equal(s.severity.stall, 'off');
  assert.equal(s.severity['deadlock-risk'], 'error');
  assert.equal(s.codeLens.enabled, false);
  assert.equal(s.parser, 'native');
  assert.equal(pkg.contributes.configuration.properties['lockpath.severity.deadlock-risk'].default, DEFAULT_SETTINGS.severity['deadlock-risk']);
});

test('the extension declares support for untrusted workspaces (it only reads files)', () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, true);
});

test('the README has no relative links: vsce cannot rewrite them without a repository URL and refuses to package', () => {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  // What vsce reads as a link: `[text](target)`, code spans included (`ops[i](x)` once broke packaging).
  const relative = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^(https?:|mailto:|#)/.test(t));
  assert.deepEqual(relative, []);
});
