import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeTree } from '../../src/analyzer/analyze';
import { tempDir } from '../support/tempDir';

// A tree often holds several programs (a server, its test programs, per-platform variants) whose
// files define the same non-static name. No program links two such definitions; a call goes to
// the one its file can be linked with.

test('a name several files define: calls go to the caller\'s own definition, and a program\'s main file keeps its definitions to itself', async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-programs-'));
  const write = (name: string, lines: string[]) => writeFileSync(path.join(dir, name), [...lines, ''].join('\n'));
  // The server's real wrappers, and a test program that stubs them out.
  write('stats.c', ['void stats_take(void) { }', 'void stats_drop(void) { }']);
  write('server.c', ['void stats_take(void);', 'void stats_drop(void);', 'void count(void) {', '  stats_take();', '  stats_drop();', '}', 'int main(void) { count(); return 0; }']);
  write('stats_test.c', ['void stats_take(void) {}', 'void stats_drop(void) {}', 'int main(void) {', '  stats_take();', '  return 0;', '}']);
  // Two test programs, each with its own hook, and a shared helper that only calls through a pointer.
  write('test_a.c', ['void on_abort(void) {}', 'void install(void (*)(void));', 'int main(void) {', '  install(on_abort);', '  return 0;', '}']);
  write('test_b.c', ['void on_abort(void) {}', 'void install(void (*)(void));', 'int main(void) {', '  install(on_abort);', '  return 0;', '}']);
  write('install.c', ['static void (*hook)(void);', 'void install(void (*h)(void)) { hook = h; }', 'void fire(void) { hook(); }']);
  // Per-platform variants, none of them a program's main file: a build compiles one, lockpath cannot tell which.
  write('priv_linux.c', ['void drop_privileges(void) {}']);
  write('priv_bsd.c', ['void drop_privileges(void) {}']);
  write('startup.c', ['void drop_privileges(void);', 'void startup(void) {', '  drop_privileges();', '}']);

  const { graph } = await analyzeTree(dir, { workers: 0 });
  const fileOf = new Map(graph.functions.map((f) => [f.id, f.file]));
  const targets = (file: string, line: number) => graph.edges.filter((e) => e.site.file === file && e.site.line === line).map((e) => `${e.kind} ${fileOf.get(e.to)}`).sort();

  // server.c is not the test program: its calls reach the real wrappers only.
  assert.deepEqual(targets('server.c', 4), ['direct stats.c']);
  assert.deepEqual(targets('server.c', 5), ['direct stats.c']);
  // The test program calls its own stub.
  assert.deepEqual(targets('stats_test.c', 4), ['direct stats_test.c']);
  // Each test program hands over its own hook; the shared helper calls both (it is linked into both).
  assert.deepEqual(targets('install.c', 3), ['indirect test_a.c', 'indirect test_b.c']);
  // Variants outside any main file all stay targets.
  assert.deepEqual(targets('startup.c', 3), ['direct priv_bsd.c', 'direct priv_linux.c']);
});

test('a source included whole (#include "dict.c") lends its static functions and variables to the including file', async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-programs-'));
  const write = (name: string, lines: string[]) => writeFileSync(path.join(dir, name), [...lines, ''].join('\n'));
  mkdirSync(path.join(dir, 'lib'));
  write('lib/dict.c', ['static int dictReplace(int k) { return k; }', 'static int (*dict_hook)(int) = dictReplace;']);
  write('lib/async.c', ['#include "dict.c"', 'int async_command(int k) {', '  return dictReplace(k) + dict_hook(k);', '}']);
  // Another program's global function of the same name.
  write('server_dict.c', ['int dictReplace(int k) { return -k; }']);
  const { graph } = await analyzeTree(dir, { workers: 0 });
  const fileOf = new Map(graph.functions.map((f) => [f.id, f.file]));
  const at = graph.edges.filter((e) => e.site.file === 'lib/async.c' && e.site.line === 3).map((e) => `${e.kind} ${fileOf.get(e.to)}`).sort();
  assert.deepEqual(at, ['direct lib/dict.c', 'indirect lib/dict.c']);
});

test('cyclic and self includes of sources terminate, and a tag defined three ways gets three keys', async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-programs-'));
  const write = (name: string, lines: string[]) => writeFileSync(path.join(dir, name), [...lines, ''].join('\n'));
  write('a.c', ['#include "a.c"', '#include "b.c"', 'static int a_helper(void) { return 1; }', 'int a_use(void) { return b_helper(); }']);
  write('b.c', ['#include "a.c"', '#include "../b.c"', 'static int b_helper(void) { return a_helper(); }']);
  write('one.h', ['struct shape { void (*draw)(void); };']);
  write('two.h', ['struct shape { int sides; void (*draw)(void); };']);
  write('three.h', ['struct shape { double r; int sides; void (*draw)(void); };']);
  write('one.c', ['#include "one.h"', 'static void one_draw(void) {}', 'struct shape s1 = { one_draw };', 'void one_paint(struct shape *s) { s->draw(); }']);
  write('two.c', ['#include "two.h"', 'static void two_draw(void) {}', 'struct shape s2 = { 4, two_draw };', 'void two_paint(struct shape *s) { s->draw(); }']);
  write('three.c', ['#include "three.h"', 'static void three_draw(void) {}', 'struct shape s3 = { 1.0, 0, three_draw };', 'void three_paint(struct shape *s) { s->draw(); }']);
  const { graph } = await analyzeTree(dir, { workers: 0 });
  const fileOf = new Map(graph.functions.map((f) => [f.id, f.name]));
  const from = (caller: string) => graph.edges.filter((e) => fileOf.get(e.from) === caller).map((e) => fileOf.get(e.to)).sort();
  assert.deepEqual(from('a_use'), ['b_helper']);
  assert.deepEqual(from('b_helper'), ['a_helper']);
  assert.deepEqual(from('one_paint'), ['one_draw']);
  assert.deepEqual(from('two_paint'), ['two_draw']);
  assert.deepEqual(from('three_paint'), ['three_draw']);
});
