import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import os from 'node:os';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { FIXTURES, REPO } from '../support/analyze';

// The CLI as users run it: the built bundle through the package's bin script.
function lockpath(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'lockpath.js'), ...args], { encoding: 'utf8', cwd: REPO, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const MAIN = path.join(FIXTURES, 'redis_module');

test('trace through the trigger macro and the IO-thread hand-off (text)', () => {
  const r = lockpath('trace', MAIN, '--from', 'set_workers', '--via', 'COORDINATOR_TRIGGER', '--to', 'conn_pool_shrink');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /set_workers/);
  assert.match(r.stdout, /indirect · macro COORDINATOR_TRIGGER · through RSGlobalConfigTriggers\[externalTriggerId\]/);
  assert.match(r.stdout, /⇢ uvUpdateConnPoolSize/);
  assert.match(r.stdout, /handoff · runs on thread io_thread_main/);
});

test('trace JSON: hops carry kind, via, macro and 1-based call sites relative to the root', () => {
  const r = lockpath('trace', MAIN, '--from', 'set_workers', '--via', 'COORDINATOR_TRIGGER', '--to', 'conn_pool_shrink', '--format', 'json', '--stats');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.paths.length >= 1);
  const path0 = out.paths.find((p: { hops: { kind: string }[] }) => p.hops.some((h) => h.kind === 'handoff'));
  assert.ok(path0, 'a path through the hand-off');
  const nameOf = (id: string) => out.functions.find((f: { id: string }) => f.id === id).name;
  assert.equal(nameOf(path0.functions[0]), 'set_workers');
  assert.equal(nameOf(path0.functions.at(-1)), 'conn_pool_shrink');
  const first = path0.hops[0];
  assert.equal(first.kind, 'indirect');
  assert.equal(first.macro, 'COORDINATOR_TRIGGER');
  assert.equal(first.site.file, 'config.c');
  assert.ok(first.site.line >= 1 && first.site.col >= 1);
  assert.ok(!path.isAbsolute(first.site.file));
  assert.equal(typeof out.stats.analysisMs, 'number');
  assert.ok(out.stats.edges.handoff >= 1);
});

test('trace to the barrier spin-wait', () => {
  const r = lockpath('trace', MAIN, '--from', 'set_workers', '--to', 'barrier_wait_and_destroy', '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.paths.length >= 1);
  const nameOf = (id: string) => out.functions.find((f: { id: string }) => f.id === id).name;
  assert.deepEqual(out.paths[0].functions.slice(0, 2).map(nameOf), ['set_workers', 'workers_set_num_threads']);
});

test('dot and mermaid renderings of a trace', () => {
  const dot = lockpath('trace', MAIN, '--from', 'set_workers', '--via', 'COORDINATOR_TRIGGER', '--to', 'conn_pool_shrink', '--format', 'dot');
  assert.equal(dot.code, 0, dot.stderr);
  assert.match(dot.stdout, /^digraph /);
  assert.match(dot.stdout, /"MR_UpdateConnPoolSize" -> "uvUpdateConnPoolSize@rmr.c" \[color="red"/);
  const mermaid = lockpath('trace', MAIN, '--from', 'set_workers', '--via', 'COORDINATOR_TRIGGER', '--to', 'conn_pool_shrink', '--format', 'mermaid');
  assert.equal(mermaid.code, 0, mermaid.stderr);
  assert.match(mermaid.stdout, /^flowchart LR/);
  assert.match(mermaid.stdout, /-\.->\|"handoff → io_thread_main"\|/);
});

test('graph --around gives the k-hop neighbourhood in the requested direction', () => {
  const r = lockpath('graph', MAIN, '--around', 'thpool_broadcast_new_state', '--depth', '1', '--direction', 'out');
  assert.equal(r.code, 0, r.stderr);
  const g = JSON.parse(r.stdout);
  const names = g.functions.map((f: { name: string }) => f.name);
  assert.ok(names.includes('barrier_wait_and_destroy'));
  assert.ok(names.includes('admin_job_change_state'), 'the hand-off target is a neighbour');
  assert.ok(g.edges.every((e: { from: string }) => e.from === g.center));
  const callers = JSON.parse(lockpath('graph', MAIN, '--around', 'thpool_broadcast_new_state', '--depth', '1', '--direction', 'in').stdout);
  assert.ok(callers.edges.every((e: { to: string }) => e.to === callers.center));
  assert.ok(callers.edges.length >= 1);
});

test('errors are one line, name the problem and exit 2', () => {
  const missing = lockpath('trace', path.join(FIXTURES, 'no-such-dir'), '--from', 'a', '--to', 'b');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^lockpath: .*no-such-dir: no such directory\n$/);

  const unknown = lockpath('trace', MAIN, '--from', 'set_worker', '--to', 'conn_pool_shrink');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown function 'set_worker' \(did you mean 'set_workers'/);

  const badFlag = lockpath('trace', MAIN, '--from', 'set_workers', '--to', 'conn_pool_shrink', '--bogus');
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /bogus/);

  const badFormat = lockpath('trace', MAIN, '--from', 'set_workers', '--to', 'conn_pool_shrink', '--format', 'pdf');
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /--format: 'pdf' is not one of/);

  const badVia = lockpath('trace', MAIN, '--from', 'set_workers', '--via', 'NO_SUCH_MACRO', '--to', 'conn_pool_shrink');
  assert.equal(badVia.code, 2);
  assert.match(badVia.stderr, /--via 'NO_SUCH_MACRO' is neither a function nor a macro/);

  const unknownCommand = lockpath('frobnicate', MAIN);
  assert.equal(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, /unknown command 'frobnicate'/);
});

test('stats reports files, functions, edge kinds and unresolved sites', () => {
  const r = lockpath('stats', MAIN, '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout).stats;
  for (const k of ['direct', 'macro', 'indirect', 'handoff', 'registration']) assert.ok(s.edges[k] > 0, `edges of kind ${k}`);
  assert.ok(s.filesParsed >= 8);
  assert.equal(s.indirectSites.total, s.indirectSites.resolved + s.indirectSites.unresolved);
});

test('the bundles run without node_modules (as the packaged extension and an installed CLI do)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lockpath-isolated-'));
  try {
    cpSync(path.join(REPO, 'dist'), path.join(dir, 'dist'), { recursive: true });
    cpSync(path.join(REPO, 'bin'), path.join(dir, 'bin'), { recursive: true });
    const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'lockpath.js'), 'trace', MAIN, '--from', 'set_workers', '--to', 'barrier_wait_and_destroy', '--workers', '2'], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /barrier_wait_and_destroy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tree with several programs (main in several files) is analysed with a warning that says so', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lockpath-programs-'));
  try {
    writeFileSync(path.join(dir, 'server.c'), 'static void serve(void) {}\nint main(void) { serve(); return 0; }\n');
    writeFileSync(path.join(dir, 'tool.c'), 'static void run(void) {}\nint main(void) { run(); return 0; }\n');
    const stats = lockpath('stats', dir, '--format', 'json');
    assert.equal(stats.code, 0, stats.stderr);
    const [warning] = JSON.parse(stats.stdout).warnings;
    assert.match(warning, /^2 files define main \(server\.c, tool\.c\): the tree holds several programs, analysed as one/);
    const text = lockpath('stats', dir);
    assert.match(text.stdout, /^warning: 2 files define main/m);
    const analyze = lockpath('analyze', dir);
    assert.match(analyze.stderr, /lockpath: warning: 2 files define main/);
    // One program, no warning.
    rmSync(path.join(dir, 'tool.c'));
    assert.deepEqual(JSON.parse(lockpath('stats', dir, '--format', 'json').stdout).warnings, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
