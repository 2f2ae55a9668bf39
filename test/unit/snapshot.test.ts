import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProjectSession } from '../../src/analyzer/session';
import type { SessionOptions } from '../../src/analyzer/session';
import { FIXTURES } from '../support/analyze';
import { tempDir } from '../support/tempDir';

// Warm starts restore a whole-tree snapshot when every input is unchanged; what they restore must
// answer every query exactly as a fresh analysis does, and any changed input must miss.

function copyFixture(): string {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-snap-'));
  cpSync(path.join(FIXTURES, 'redis_module'), dir, { recursive: true });
  return dir;
}

async function openSaved(dir: string, options: SessionOptions): Promise<ProjectSession> {
  const s = await ProjectSession.open(dir, options);
  await s.saveSnapshot();
  return s;
}

/** Everything the server reads from a session, as plain data. */
function observable(s: ProjectSession) {
  const p = s.analysis.program;
  const keys: unknown[] = [];
  p.facts.forEach((f, i) => {
    if (!f) return;
    for (const flow of f.flows) keys.push([i, p.locationKey(flow.to, i), p.readKeys(flow.to, i)]);
    for (const c of f.calls) if (c.callee.k === 'ptr') keys.push([i, p.readKeys(c.callee.loc, i)]);
  });
  return JSON.parse(JSON.stringify({
    facts: s.analysis.facts, functions: p.functions, edges: p.edges, callEdges: p.callEdges, out: p.out, in: p.in,
    edgeFrom: [...p.edgeFrom], edgeTo: [...p.edgeTo], ids: [...p.idToIndex], unresolved: p.unresolved, externalApiCalls: p.externalApiCalls,
    indirectSites: p.indirectSites, macroNames: [...p.macroNames].sort(), keys,
    findings: s.findings, counts: s.concurrency.summary.counts, suppressed: s.concurrency.summary.suppressed, mayBlock: [...s.concurrency.mayBlock],
    contexts: s.concurrency.contexts.map((c) => ({ lock: c.lock, id: c.id, root: c.root, reached: [...c.reached], held: p.edges.map((_e, i) => c.heldEdges(i)) })),
    model: s.modelMessages(), skipped: s.analysis.graph.skipped, notes: s.analysis.graph.notes,
  }));
}

test('a start with unchanged inputs restores the snapshot, which answers like a fresh analysis', async () => {
  const dir = copyFixture();
  const options = { workers: 0, snapshotDir: tempDir(path.join(os.tmpdir(), 'lockpath-snapdir-')) };
  const first = await ProjectSession.open(dir, options);
  assert.equal(first.startedFrom, 'analysis');
  assert.equal(await first.saveSnapshot(), true);
  assert.equal(await first.saveSnapshot(), false, 'stored once');
  const second = await ProjectSession.open(dir, options);
  assert.equal(second.startedFrom, 'snapshot');
  assert.deepEqual(observable(second), observable(first));
  // Edits after a restore work as after an analysis (the restored program re-links and shifts).
  const text = readFileSync(path.join(dir, 'config.c'), 'utf8');
  for (const session of [first, second]) {
    const at = text.indexOf('workers_set_num_threads();');
    await session.updateFile('config.c', `// moved\n${text}`, [{ start: 0, end: 0, text: '// moved\n' }]);
    assert.equal(session.lastUpdate?.kind, 'positions');
    await session.updateFile('config.c', `// moved\n${text.slice(0, at)}${text.slice(at + 'workers_set_num_threads();'.length)}`, [{ start: at + 9, end: at + 9 + 'workers_set_num_threads();'.length, text: '' }]);
    assert.equal(session.lastUpdate?.kind, 'relink');
  }
  assert.deepEqual(observable(second), observable(first));
});

test('a changed file, model file or setting misses the snapshot', async () => {
  const dir = copyFixture();
  const snapshotDir = tempDir(path.join(os.tmpdir(), 'lockpath-snapdir-'));
  const options = { workers: 0, snapshotDir };
  await openSaved(dir, options);
  assert.equal((await ProjectSession.open(dir, options)).startedFrom, 'snapshot');

  const file = path.join(dir, 'queue.c');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n/* changed on disk */\n`);
  const afterFileChange = await openSaved(dir, options);
  assert.equal(afterFileChange.startedFrom, 'analysis', 'a changed file');
  assert.equal((await ProjectSession.open(dir, options)).startedFrom, 'snapshot', 'stored again for the new contents');

  writeFileSync(path.join(dir, '.lockpath'), 'allow deadlock-risk entry=set_workers wait=barrier_wait_and_destroy reason="test"\n');
  const withModel = await openSaved(dir, options);
  assert.equal(withModel.startedFrom, 'analysis', 'a new model file');
  assert.ok(withModel.findings.some((f) => f.suppressed), 'the allow rule matched');
  const restoredModel = await ProjectSession.open(dir, options);
  assert.equal(restoredModel.startedFrom, 'snapshot');
  assert.deepEqual(observable(restoredModel), observable(withModel), 'suppressions and model diagnostics restored');

  const narrower = { ...options, selection: { exclude: ['**/queue.c'] } };
  assert.equal((await ProjectSession.open(dir, narrower)).startedFrom, 'analysis', 'a different file selection');
  assert.equal((await ProjectSession.open(dir, { ...options, parser: 'native' as const }).catch(() => null))?.startedFrom ?? 'analysis', 'analysis', 'another parser');
});

test('a session edited before its snapshot was stored does not store it', async () => {
  const dir = copyFixture();
  const options = { workers: 0, snapshotDir: tempDir(path.join(os.tmpdir(), 'lockpath-snapdir-')) };
  const s = await ProjectSession.open(dir, options);
  const text = readFileSync(path.join(dir, 'config.c'), 'utf8');
  await s.updateFile('config.c', `${text}\nint unsaved_editor_text(void) { return 0; }\n`);
  assert.equal(await s.saveSnapshot(), false);
  assert.equal((await ProjectSession.open(dir, options)).startedFrom, 'analysis');
});
