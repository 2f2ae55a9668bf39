import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProjectSession } from '../../src/analyzer/session';
import { applyChange } from '../../src/analyzer/incremental/edits';
import type { TextChange } from '../../src/analyzer/incremental/edits';
import { DiagnosticsCache, diagnosticsFor } from '../../src/server/diagnostics';
import { tempDir } from '../support/tempDir';

// The bench's edits, on RediSearch: incremental updates (shifted positions, relink from the solved
// points-to state) must give what a fresh analysis of the edited tree gives. The tree is copied to
// a temporary folder for the reference analyses.
const dir = process.env.LOCKPATH_REDISEARCH_DIR;
const skip = dir ? false : 'LOCKPATH_REDISEARCH_DIR is not set (a RediSearch dede3e11 checkout of src and deps)';

function observable(s: ProjectSession, root: string) {
  const { graph } = s.analysis;
  const text = JSON.stringify({ facts: s.analysis.facts.find((f) => f.file === 'src/config.c'), functions: graph.functions, edges: graph.edges, unresolved: graph.unresolved, findings: s.findings, mayBlock: [...s.concurrency.mayBlock] });
  return JSON.parse(text.split(root).join('<root>'));
}

test('RediSearch: inline, blank-line and call edits in set_workers, applied incrementally, equal a fresh analysis', { skip, timeout: 600_000 }, async () => {
  const copy = tempDir(path.join(os.tmpdir(), 'lockpath-rs-'));
  cpSync(dir!, copy, { recursive: true });
  const session = await ProjectSession.open(copy, {});
  const state = { uri: 'file:///x', root: copy, session, ready: Promise.resolve(session), abort: new AbortController() };
  const cache = new DiagnosticsCache();
  diagnosticsFor(state, {}, cache);
  const file = 'src/config.c';
  let text = readFileSync(path.join(copy, file), 'utf8');
  const brace = text.indexOf('{', text.indexOf('set_workers(')) + 1;
  const nextLine = text.indexOf('\n', brace) + 1;
  const steps: { change: TextChange; kind: string; link?: string }[] = [
    { change: { start: brace, end: brace, text: ' /*x*/' }, kind: 'positions' },
    { change: { start: nextLine + 6, end: nextLine + 6, text: '\n' }, kind: 'positions' },
    { change: { start: nextLine + 6, end: nextLine + 6, text: '  RedisModule_Log(NULL, "warning", "bench");\n' }, kind: 'relink', link: 'incremental' },
  ];
  for (const { change, kind, link } of steps) {
    text = applyChange(text, change);
    await session.updateFile(file, text, [change]);
    assert.equal(session.lastUpdate?.kind, kind);
    assert.equal(session.lastUpdate?.link, link);
  }
  assert.deepEqual(diagnosticsFor(state, {}, cache), diagnosticsFor(state, {}));
  const fresh = tempDir(path.join(os.tmpdir(), 'lockpath-rs-'));
  cpSync(dir!, fresh, { recursive: true });
  writeFileSync(path.join(fresh, file), text);
  const reference = await ProjectSession.open(fresh, {});
  assert.deepEqual(observable(session, copy), observable(reference, fresh));
});
