import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeTree } from '../../src/analyzer/analyze';
import { analyzeFixture } from '../support/analyze';
import { tempDir } from '../support/tempDir';

test('binary, non-UTF-8 and empty files: the first two are skipped and reported, nothing crashes', async () => {
  const { graph } = await analyzeFixture('bad_input');
  const reasons = Object.fromEntries(graph.skipped.map((s) => [s.file, s.reason]));
  assert.equal(reasons['blob.c'], 'binary');
  assert.equal(reasons['latin1.c'], 'not-utf8');
  assert.equal(graph.stats.filesSkipped, graph.skipped.length);
  assert.ok(!('empty.h' in reasons), 'an empty header is parsed, not skipped');
});

test('files over the size limit are skipped with the sizes in the report', async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-big-'));
  writeFileSync(path.join(dir, 'big.c'), `int big(void) { return 0; }\n${'/* padding */\n'.repeat(2000)}`);
  writeFileSync(path.join(dir, 'small.c'), 'int small(void) { return big(); }\n');
  const { graph } = await analyzeTree(dir, { workers: 0, selection: { maxFileBytes: 1000 } });
  assert.deepEqual(graph.skipped.map((s) => [s.file, s.reason]), [['big.c', 'too-large']]);
  assert.match(graph.skipped[0].detail ?? '', /> limit 1000/);
  assert.ok(graph.functions.some((f) => f.name === 'small' && f.defined));
});

test('an unreadable path is reported, not fatal', async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-dangling-'));
  symlinkSync(path.join(dir, 'nowhere.c'), path.join(dir, 'dangling.c'));
  writeFileSync(path.join(dir, 'ok.c'), 'void ok(void) {}\n');
  const { graph } = await analyzeTree(dir, { workers: 0 });
  assert.deepEqual(graph.skipped.map((s) => [s.file, s.reason]), [['dangling.c', 'unreadable']]);
  assert.equal(graph.stats.filesParsed, 1);
});

test('a named pipe or device behind a .c name is skipped, not read (a read would block)', { skip: process.platform === 'win32' ? 'no mkfifo on Windows' : false }, async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-fifo-'));
  execFileSync('mkfifo', [path.join(dir, 'pipe.c')]);
  symlinkSync('/dev/zero', path.join(dir, 'zero.c'));
  writeFileSync(path.join(dir, 'ok.c'), 'void ok(void) {}\n');
  const { graph } = await analyzeTree(dir, { workers: 0 });
  assert.deepEqual(graph.skipped.map((s) => [s.file, s.reason, s.detail]), [['pipe.c', 'unreadable', 'not a regular file'], ['zero.c', 'unreadable', 'not a regular file']]);
  assert.equal(graph.stats.filesParsed, 1);
});

test('malformed C and cyclic or exploding macros terminate with partial results', async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-malformed-'));
  const doubling = Array.from({ length: 40 }, (_, i) => `#define X${i + 1}(a) X${i}(a) X${i}(a)`).join('\n');
  writeFileSync(path.join(dir, 'bad.c'), [
    '#define A B', '#define B A()', '#define X0(a) call_it(a)', doubling,
    'void ok_before(void) { helper(); }',
    'void broken( { A; X40(1); if (',
    'int ok_after(int x) { return helper2(x); }',
    '}}}} ))) #endif',
  ].join('\n'));
  const { graph } = await analyzeTree(dir, { workers: 0 });
  const names = graph.functions.filter((f) => f.defined).map((f) => f.name);
  assert.ok(names.includes('ok_before'));
  assert.ok(graph.edges.some((e) => e.from === 'ok_before' && e.to === 'helper'));
  assert.ok(graph.stats.filesWithErrors === 1);
});

test('a missing directory is a clear error', async () => {
  await assert.rejects(analyzeTree('/nonexistent/lockpath-tree'), /\/nonexistent\/lockpath-tree: no such directory/);
});
