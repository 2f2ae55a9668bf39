import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProjectSession } from '../../src/analyzer/session';
import { sharedParser } from '../../src/analyzer/analyze';
import { createParserBackend } from '../../src/analyzer/parse/backends';
import { applyChange, editTree, pointAt, treeEditFor } from '../../src/analyzer/incremental/edits';
import type { TextChange } from '../../src/analyzer/incremental/edits';
import type { SyntaxNode } from '../../src/analyzer/parse/syntax';
import { FIXTURES } from '../support/analyze';
import { DiagnosticsCache, diagnosticsFor } from '../../src/server/diagnostics';
import { tempDir } from '../support/tempDir';

// Incremental updates (kept syntax tree + tree.edit, shifting positions instead of re-linking)
// must give exactly what a fresh analysis of the same text gives.

function shape(n: SyntaxNode): string {
  const kids = n.children.filter((c): c is SyntaxNode => !!c).map(shape).join(' ');
  return `(${n.type} ${n.startIndex}-${n.endIndex} ${n.startPosition.row}:${n.startPosition.column}${kids ? ` ${kids}` : ''})`;
}

test('tree edits in UTF-16 units: points count \\n only, non-ASCII and astral characters', () => {
  const text = 'a\r\nbé😀c\nd';
  assert.deepEqual(pointAt(text, 3), { row: 1, column: 0 });
  assert.deepEqual(pointAt(text, 7), { row: 1, column: 4 }, '😀 is two UTF-16 code units');
  const e = treeEditFor(text, { start: 5, end: 7, text: 'x\ny😀' });
  assert.deepEqual(e, {
    startIndex: 5, oldEndIndex: 7, newEndIndex: 10,
    startPosition: { row: 1, column: 2 }, oldEndPosition: { row: 1, column: 4 }, newEndPosition: { row: 2, column: 3 },
  });
});

const nativeParser = createParserBackend('native').catch(() => null);

for (const backend of ['wasm', 'native'] as const) test(`an incrementally re-parsed tree equals a fresh parse (non-ASCII inserts and deletes; ${backend} backend)`, async (t) => {
  const parser = backend === 'wasm' ? await sharedParser('wasm') : await nativeParser;
  if (!parser) {
    t.skip('the optional native tree-sitter binding is not installed');
    return;
  }
  let text = 'int f(void) {\n  g(1); // naïve\n  return h("é");\n}\n';
  const tree0 = parser.parse(text);
  const changes: TextChange[] = [
    { start: text.indexOf('g(1)'), end: text.indexOf('g(1)'), text: '/* 😀é */ k(2);\n  ' },
    { start: 0, end: 0, text: '// ünïcode\n' },
  ];
  const after = editTree(tree0, text, changes);
  text = changes.reduce(applyChange, text);
  assert.equal(after, text);
  const incremental = parser.parse(text, tree0);
  const fresh = parser.parse(text);
  assert.equal(shape(incremental.rootNode), shape(fresh.rootNode));
  for (const t of [tree0, incremental, fresh]) t.delete?.();
});

async function copyFixture(): Promise<string> {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-incr-'));
  cpSync(path.join(FIXTURES, 'redis_module'), dir, { recursive: true });
  return dir;
}

/** Everything an update may change, as plain data, for deep comparison. */
function snapshot(s: ProjectSession) {
  const { graph } = s.analysis;
  return {
    facts: JSON.parse(JSON.stringify(s.analysis.facts)),
    functions: graph.functions, edges: graph.edges, unresolved: graph.unresolved, notes: graph.notes,
    findings: s.findings,
    mayBlock: [...s.concurrency.mayBlock.values()],
  };
}

test('edits applied incrementally give the same facts, graph and findings as a full analysis of the final text', async () => {
  const dir = await copyFixture();
  const session = await ProjectSession.open(dir, { workers: 0 });
  const file = 'config.c';
  let text = readFileSync(path.join(dir, file), 'utf8');
  const at = (needle: string) => { const i = text.indexOf(needle); assert.ok(i >= 0, needle); return i; };
  const body = text.indexOf('{', at('set_workers(const char')) + 1;
  const callLine = text.lastIndexOf('\n', at('workers_set_num_threads(); // expect-edge')) + 1;
  // kind: how the session updated; link: for relinks, whether the solved points-to state was reused
  // (a call without function-pointer arguments added or removed does not change it).
  const steps: { what: string; change: () => TextChange; kind: string; link?: string }[] = [
    { what: 'comment inside a line', change: () => ({ start: body, end: body, text: ' /*x*/' }), kind: 'positions' },
    { what: 'non-ASCII comment before the call, same line', change: () => ({ start: at('workers_set_num_threads(); // expect-edge'), end: at('workers_set_num_threads(); // expect-edge'), text: '/* é😀 */ ' }), kind: 'positions' },
    { what: 'a blank line (shifts every later line)', change: () => ({ start: callLine, end: callLine, text: '\n' }), kind: 'positions' },
    { what: 'a new call statement', change: () => ({ start: callLine, end: callLine, text: '  RedisModule_Log(NULL, "wärning");\n' }), kind: 'relink', link: 'incremental' },
    { what: 'delete the non-ASCII comment', change: () => ({ start: at('/* é😀 */ '), end: at('/* é😀 */ ') + '/* é😀 */ '.length, text: '' }), kind: 'positions' },
    { what: 'remove the blocking call', change: () => ({ start: at('workers_set_num_threads();'), end: at('workers_set_num_threads();') + 'workers_set_num_threads();'.length, text: '' }), kind: 'relink', link: 'incremental' },
    { what: 'pass a function pointer (a new points-to flow)', change: () => ({ start: callLine, end: callLine, text: '  RedisModule_CreateTimer(NULL, 10, get_workers, NULL);\n' }), kind: 'relink', link: 'full' },
    { what: 'a call without pointer arguments after a full relink', change: () => ({ start: callLine, end: callLine, text: '  RedisModule_Log(NULL, "again");\n' }), kind: 'relink', link: 'incremental' },
  ];
  // Diagnostics cached per finding across updates must equal diagnostics computed afresh.
  const state = { uri: 'file:///x', root: dir, session, ready: Promise.resolve(session), abort: new AbortController() };
  const cache = new DiagnosticsCache();
  diagnosticsFor(state, {}, cache);
  // Opening the file in an editor (same text as on disk, no changes yet) parses it for later edits.
  assert.equal(await session.updateFile(file, text, []), false);
  for (const step of steps) {
    const change = step.change();
    text = applyChange(text, change);
    assert.equal(await session.updateFile(file, text, [change]), true, step.what);
    assert.equal(session.lastUpdate?.parse, 'incremental', step.what);
    assert.equal(session.lastUpdate?.kind, step.kind, step.what);
    assert.equal(session.lastUpdate?.link, step.link, step.what);
    const fresh = await copyFixture();
    writeFileSync(path.join(fresh, file), text);
    const reference = await ProjectSession.open(fresh, { workers: 0 });
    const relative = (x: unknown) => JSON.parse(JSON.stringify(x).split(fresh).join(dir));
    assert.deepEqual(snapshot(session), relative(snapshot(reference)), step.what);
    assert.deepEqual(diagnosticsFor(state, {}, cache), diagnosticsFor(state, {}), `cached diagnostics after: ${step.what}`);
  }
  assert.ok(!session.findings.some((f) => f.entry.function === 'set_workers' && f.class === 'deadlock-risk'), 'the last edit removed the deadlock');
});

test('changes that do not lead to the new text are not trusted: the file is parsed from scratch', async () => {
  const dir = await copyFixture();
  const session = await ProjectSession.open(dir, { workers: 0 });
  let text = readFileSync(path.join(dir, 'config.c'), 'utf8');
  text = `// one\n${text}`;
  await session.updateFile('config.c', text, [{ start: 0, end: 0, text: '// one\n' }]);
  // A change was lost: the recorded one alone does not produce this text.
  const lost = `// two\n// three\n${text}`;
  await session.updateFile('config.c', lost, [{ start: 0, end: 0, text: '// two\n' }]);
  assert.equal(session.lastUpdate?.parse, 'full');
  const fresh = await copyFixture();
  writeFileSync(path.join(fresh, 'config.c'), lost);
  const reference = await ProjectSession.open(fresh, { workers: 0 });
  assert.deepEqual(JSON.parse(JSON.stringify(session.analysis.facts)), JSON.parse(JSON.stringify(reference.analysis.facts)));
});
