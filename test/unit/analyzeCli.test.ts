import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, REPO } from '../support/analyze';
import { tempDir } from '../support/tempDir';

function lockpath(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'lockpath.js'), ...args], { encoding: 'utf8', cwd: REPO, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=lockpath-test', '-c', 'user.email=test@lockpath.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const MAIN = path.join(FIXTURES, 'redis_module');

test('analyze (text) reads like a two-thread trace and exits 1 on a deadlock risk', () => {
  const r = lockpath('analyze', MAIN);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /deadlock-risk {2}GIL/);
  assert.match(r.stdout, /thread 1: Redis main thread, holding the GIL\n {5}set_workers {2}— config-set registered with RedisModule_RegisterNumericConfig "search-workers"/);
  assert.match(r.stdout, /⏸ waits: while \(barrier->received < barrier->count\)/);
  assert.match(r.stdout, /thread 2: thread_loop — releases the wait: writes b->received in barrier_wait/);
  assert.match(r.stdout, /⏸ takes the GIL at search\.c:\d+:\d+ — blocked while thread 1 holds it/);
  assert.match(r.stdout, /never runs while the wait blocks[^\n]*\n {5}COORDINATOR_TRIGGER\(\) → [^\n]*conn_pool_shrink/);
});

test('analyze (text) starts with the places findings share, when several entries reach one wait', () => {
  const r = lockpath('analyze', MAIN, '--fail-on', 'none');
  const glance = r.stdout.split('\n\n')[0].split('\n');
  assert.match(glance[0], /^at a glance: 5 findings at 2 places/);
  // Most entries first; each line names the first finding's number, the wait and the entries.
  assert.match(glance[1], /^ {2}#\d+ +3 × deadlock-risk {2}thpool_wait_for_threads waits \(spin\) at thpool\.c:\d+:\d+ — from RedisModule_OnLoad, config_command, set_workers$/);
  assert.match(glance[2], /^ {2}#\d+ +2 × deadlock-risk {2}barrier_wait_and_destroy waits \(spin\) at barrier\.c:\d+:\d+ — from config_command, set_workers$/);
  const first = Number(/#(\d+)/.exec(glance[2])![1]);
  assert.match(r.stdout, new RegExp(`\n${first}\\. deadlock-risk[^\n]*\n[^\n]*barrier_wait_and_destroy`));
  // One finding per place: no overview.
  assert.doesNotMatch(lockpath('analyze', path.join(FIXTURES, 'findings', 'lock_order_mutex_bad'), '--fail-on', 'none').stdout, /at a glance/);
});

test('--fail-on none exits 0; a bad --fail-on is a usage error', () => {
  assert.equal(lockpath('analyze', MAIN, '--fail-on', 'none').code, 0);
  const bad = lockpath('analyze', MAIN, '--fail-on', 'sometimes');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fail-on: 'sometimes' is not one of deadlock-risk, stall, any, none/);
});

test('a lock-order cycle fails the default --fail-on (it is a deadlock), but not --fail-on none', () => {
  const dir = path.join(FIXTURES, 'findings', 'lock_order_mutex_bad');
  assert.equal(lockpath('analyze', dir).code, 1);
  assert.equal(lockpath('analyze', dir, '--fail-on', 'stall').code, 1);
  assert.equal(lockpath('analyze', dir, '--fail-on', 'none').code, 0);
  assert.equal(lockpath('analyze', path.join(FIXTURES, 'findings', 'lock_order_mutex_ok')).code, 0);
});

test('analyze JSON carries the evidence: entry, path with edge kinds and lock state, wait, awaited threads, sequenced-after', () => {
  const out = JSON.parse(lockpath('analyze', MAIN, '--format', 'json').stdout);
  const f = out.findings.find((x: { class: string; entry: { function: string } }) => x.class === 'deadlock-risk' && x.entry.function.startsWith('set_workers'));
  assert.ok(f);
  assert.match(f.id, /^[0-9a-f]{16}$/);
  assert.equal(f.entry.kind, 'config-set');
  assert.equal(f.entry.api, 'RedisModule_RegisterNumericConfig');
  assert.deepEqual(f.path.map((h: { to: string }) => h.to.split('@')[0]), ['workers_set_num_threads', 'thpool_remove_threads', 'thpool_broadcast_new_state', 'barrier_wait_and_destroy']);
  assert.ok(f.path.every((h: { lockState: string; kind: string; site: { line: number } }) => h.lockState === 'held' && h.kind === 'direct' && h.site.line > 0));
  assert.equal(f.wait.kind, 'spin');
  assert.equal(f.wait.bounded, false);
  assert.equal(f.wait.function, 'barrier_wait_and_destroy');
  assert.equal(f.awaited[0].threadRoot.split('@')[0], 'thread_loop');
  assert.equal(f.awaited[0].releaser.function, 'barrier_wait');
  assert.ok(f.awaited[0].takesLock.path.some((h: { kind: string }) => h.kind === 'indirect'));
  const trigger = f.sequencedAfter.find((s: { macro?: string }) => s.macro === 'COORDINATOR_TRIGGER');
  assert.ok(trigger.reaches.some((n: string) => n.startsWith('conn_pool_shrink')));
  assert.equal(out.summary.counts['deadlock-risk'], out.findings.filter((x: { class: string }) => x.class === 'deadlock-risk').length);
});

test('SARIF 2.1.0: one thread flow per thread, related locations, partial fingerprints', () => {
  const sarif = JSON.parse(lockpath('analyze', MAIN, '--format', 'sarif').stdout);
  assert.equal(sarif.version, '2.1.0');
  const run = sarif.runs[0];
  assert.equal(run.tool.driver.name, 'lockpath');
  assert.deepEqual(run.tool.driver.rules.map((r: { id: string }) => r.id), ['deadlock-risk', 'lock-order', 'stall', 'bounded', 'gil-required-api']);
  const result = run.results.find((r: { ruleId: string; properties: { entry: string } }) => r.ruleId === 'deadlock-risk' && r.properties.entry.startsWith('set_workers'));
  assert.equal(result.level, 'error');
  assert.match(result.partialFingerprints['lockpath/v1'], /^[0-9a-f]{16}$/);
  const flows = result.codeFlows[0].threadFlows;
  assert.equal(flows.length, 2, 'the lock holder and the awaited pool thread');
  assert.equal(flows[0].locations[0].kinds[0], 'entry');
  assert.equal(flows[0].locations.at(-1).kinds[0], 'wait');
  assert.ok(flows[1].locations.some((l: { kinds: string[] }) => l.kinds[0] === 'acquire'));
  assert.equal(result.locations[0].physicalLocation.artifactLocation.uri, 'barrier.c');
  assert.ok(result.relatedLocations.length > 3);
});

/** A function id without its `@file` suffix (static functions). */
const bare = (id: string): string => id.split('@')[0];

test('lock-order findings: JSON names both threads; SARIF has one thread flow per thread; text reads as two stacks', () => {
  const dir = path.join(FIXTURES, 'findings', 'gil_writers_mutex_bad');
  const out = JSON.parse(lockpath('analyze', dir, '--format', 'json').stdout);
  const f = out.findings.find((x: { class: string }) => x.class === 'lock-order');
  assert.ok(f, 'a lock-order finding');
  assert.equal(out.summary.counts['lock-order'], 1);
  assert.deepEqual(f.threads.map((t: { context: string }) => t.context.split('@')[0]), ['entries', 'commit_main']);
  const [main, commit] = f.threads;
  assert.deepEqual([main.holds.lock, main.acquires.lock, bare(main.acquires.function)], ['GIL', 'graph_t.writers_mutex', 'graph_acquire_writer']);
  assert.equal(bare(main.entry.function), 'graph_set_command');
  assert.deepEqual([commit.holds.lock, commit.holds.site.line, commit.acquires.lock, bare(commit.acquires.function)], ['graph_t.writers_mutex', 51, 'GIL', 'replicate']);
  assert.deepEqual(commit.path.map((h: { to: string; kind: string }) => [bare(h.to), h.kind]), [['replicate', 'direct']]);
  assert.match(f.message, /struct graph_t/, 'the message says which lock abstraction was used');
  const sarif = JSON.parse(lockpath('analyze', dir, '--format', 'sarif').stdout);
  const result = sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'lock-order');
  assert.equal(result.level, 'error');
  const flows = result.codeFlows[0].threadFlows;
  assert.equal(flows.length, 2);
  for (const flow of flows) assert.deepEqual(flow.locations.filter((l: { kinds: string[] }) => l.kinds[0] === 'acquire').length, 2, 'each thread: where it takes each lock');
  const text = lockpath('analyze', dir).stdout;
  assert.match(text, /thread 1: Redis main thread[\s\S]*holds GIL: held since the command started[\s\S]*takes graph_t\.writers_mutex in graph_acquire_writer at graph\.c:24/);
  assert.match(text, /thread 2: thread commit_main[\s\S]*holds graph_t\.writers_mutex: taken in commit_main at graph\.c:51[\s\S]*takes GIL in replicate at graph\.c:41/);
});

test('a deferred release names the thread holding the lock and the main-thread callback that releases it', () => {
  const out = JSON.parse(lockpath('analyze', path.join(FIXTURES, 'findings', 'rwlock_deferred_release_bad'), '--format', 'json').stdout);
  const f = out.findings.find((x: { deferredRelease?: unknown }) => x.deferredRelease);
  assert.ok(f);
  assert.equal(f.class, 'deadlock-risk');
  assert.deepEqual([bare(f.entry.function), f.entry.kind, f.wait.kind, f.wait.site.line], ['on_doc_changed', 'keyspace-notification', 'lock', 77]);
  const d = f.deferredRelease;
  assert.deepEqual([d.lock, bare(d.heldBy.threadRoot), d.heldBy.mode, d.heldBy.site.line], ['spec_t.rwlock', 'search_main', 'read', 52]);
  assert.deepEqual([bare(d.releasedIn.function), d.releasedIn.entryKind, d.releasedIn.site.line], ['bg_reply', 'blocked-reply', 40]);
  assert.match(d.identity, /struct spec_t/);
});

test('an allow rule in .lockpath suppresses a finding, keeping it visible with the reason', () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-model-'));
  cpSync(MAIN, dir, { recursive: true });
  writeFileSync(path.join(dir, '.lockpath'), 'allow deadlock-risk entry=set_workers wait=barrier_wait_and_destroy reason="test: accepted risk"\nentry set_worker\n');
  const r = lockpath('analyze', dir, '--format', 'json');
  const out = JSON.parse(r.stdout);
  const f = out.findings.find((x: { class: string; entry: { function: string } }) => x.class === 'deadlock-risk' && x.entry.function.startsWith('set_workers'));
  assert.equal(f.suppressed.reason, 'test: accepted risk');
  assert.deepEqual(f.suppressed.rule, { file: '.lockpath', line: 1, col: 1 });
  assert.ok(out.summary.suppressed >= 1);
  assert.match(r.stderr, /\.lockpath:2:7: warning: unknown function 'set_worker' \(entry\) \(did you mean 'set_workers'/);
  const sarif = JSON.parse(lockpath('analyze', dir, '--format', 'sarif').stdout);
  assert.ok(sarif.runs[0].results.some((x: { suppressions?: { justification: string }[] }) => x.suppressions?.[0].justification === 'test: accepted risk'));
});

test('a model file with a syntax error stops the run with file:line:col', () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-badmodel-'));
  writeFileSync(path.join(dir, 'a.c'), 'void f(void) {}\n');
  writeFileSync(path.join(dir, 'm.lockpath'), '# ok\nlock L acquire=a\n');
  const r = lockpath('analyze', dir, '--model', path.join(dir, 'm.lockpath'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /m\.lockpath:2:1: error: lock L needs release=FUNCTION/);
});

test('diff reports findings fixed and new between two git revisions', () => {
  const repo = tempDir(path.join(os.tmpdir(), 'lockpath-diff-'));
  cpSync(MAIN, path.join(repo, 'module'), { recursive: true });
  git(repo, 'init', '-q');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'base');
  // The fix: set_workers no longer resizes the pool synchronously.
  const file = path.join(repo, 'module', 'config.c');
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const setWorkers = lines.findIndex((l) => /set_workers\(const char \*name/.test(l));
  const call = lines.findIndex((l, i) => i > setWorkers && /workers_set_num_threads\(\);/.test(l));
  lines[call] = lines[call].replace('workers_set_num_threads();', '/* resize scheduled elsewhere */');
  writeFileSync(file, lines.join('\n'));
  git(repo, 'commit', '-q', '-am', 'fix');
  const r = lockpath('diff', path.join(repo, 'module'), '--base', 'HEAD~1', '--head', 'HEAD', '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.new, []);
  assert.ok(out.fixed.some((f: { class: string; entry: { function: string } }) => f.class === 'deadlock-risk' && f.entry.function.startsWith('set_workers')));
  assert.ok(out.unchanged > 0, 'the FT.CONFIG finding is still there');
  // And the other way round: the risk is new, so diff fails the review.
  const back = lockpath('diff', path.join(repo, 'module'), '--base', 'HEAD', '--head', 'HEAD~1');
  assert.equal(back.code, 1);
  assert.match(back.stdout, /[1-9]\d* new, 0 fixed/);
  assert.match(back.stdout, /NEW\n\n1\. deadlock-risk/);
  const badRev = lockpath('diff', path.join(repo, 'module'), '--base', 'no-such-rev');
  assert.equal(badRev.code, 2);
  assert.match(badRev.stderr, /'no-such-rev' is not a revision/);
});

test('diff: a change that inverts a lock order is a new lock-order finding that fails the review', () => {
  const repo = tempDir(path.join(os.tmpdir(), 'lockpath-diff-locks-'));
  cpSync(path.join(FIXTURES, 'findings', 'lock_order_mutex_ok'), path.join(repo, 'm'), { recursive: true });
  git(repo, 'init', '-q');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one lock order');
  cpSync(path.join(FIXTURES, 'findings', 'lock_order_mutex_bad', 'stats.c'), path.join(repo, 'm', 'stats.c'));
  git(repo, 'commit', '-q', '-am', 'rebuild takes the index lock first');
  const r = lockpath('diff', path.join(repo, 'm'), '--base', 'HEAD~1', '--head', 'HEAD', '--format', 'json');
  assert.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.new.map((f: { class: string; lock: string }) => [f.class, f.lock]), [['lock-order', 'index_t.lock, stats_lock']]);
  assert.equal(out.new[0].threads.length, 2);
  assert.deepEqual(out.fixed, []);
});

test('may-block summaries: a function blocks if it waits or synchronously calls one that may', async () => {
  const { analyzeProject } = await import('../../src/analyzer/project');
  const { analyzeConcurrency } = await import('../../src/analyzer/concurrency/findings');
  const { redisModuleProfile } = await import('../../src/analyzer/profile/redisModule');
  const { analysis } = await analyzeProject(MAIN, { workers: 0 });
  const { mayBlock } = analyzeConcurrency(analysis.program, redisModuleProfile);
  const barrier = mayBlock.get('barrier_wait_and_destroy');
  assert.equal(barrier?.own[0].kind, 'spin');
  const setWorkers = [...mayBlock.values()].find((s) => s.function.startsWith('set_workers'));
  assert.ok(setWorkers?.viaCallees.some((v) => v.wait === 'barrier_wait_and_destroy' && v.through === 'workers_set_num_threads'));
  assert.equal([...mayBlock.keys()].find((k) => k.startsWith('conn_pool_shrink')), undefined, 'the connection shrink never blocks');
});
