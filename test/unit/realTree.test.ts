import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeTree } from '../../src/analyzer/analyze';
import type { Analysis } from '../../src/analyzer/analyze';
import { trace } from '../../src/analyzer/query/trace';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeProject } from '../../src/analyzer/project';
import type { ProjectAnalysis } from '../../src/analyzer/project';

// Acceptance on RediSearch dede3e11 (MOD-11658). The tree is never committed: point
// LOCKPATH_REDISEARCH_DIR at a `git archive` of its src and deps (see README).
const dir = process.env.LOCKPATH_REDISEARCH_DIR;
const skip = dir ? false : 'LOCKPATH_REDISEARCH_DIR is not set (a RediSearch dede3e11 checkout of src and deps)';
if (!dir) console.log(`# skipping RediSearch acceptance tests: ${skip}`);

let analysis: Promise<Analysis> | undefined;
const analyze = () => (analysis ??= analyzeTree(dir!));

function chains(a: Analysis, from: string, to: string, via: string[] = []) {
  return trace(a.program, { from, to, via, maxPaths: 10 }).paths.map((p) => ({
    names: [p.start.name, ...p.hops.map((h) => h.to.name)],
    hops: p.hops,
  }));
}

test('RediSearch: set_workers → COORDINATOR_TRIGGER → … ⇢ uvUpdateConnPoolSize → MRConnManager_Shrink', { skip }, async () => {
  const a = await analyze();
  const expected = ['set_workers', 'triggerConnPerShard', 'MR_UpdateConnPoolSize', 'uvUpdateConnPoolSize', 'IORuntimeCtx_UpdateConnPoolSize', 'MRConnManager_Shrink'];
  const found = chains(a, 'set_workers', 'MRConnManager_Shrink', ['COORDINATOR_TRIGGER']).find((c) => c.names.join() === expected.join());
  assert.ok(found, 'the MOD-11658 path through the IO thread');
  assert.equal(found.hops[0].edge.kind, 'indirect');
  assert.equal(found.hops[0].edge.macro, 'COORDINATOR_TRIGGER');
  assert.match(found.hops[0].edge.via ?? '', /RSGlobalConfigTriggers/);
  assert.equal(found.hops[2].edge.kind, 'handoff');
  assert.match(found.hops[2].edge.threadRoot ?? '', /^sideThread/);
  assert.match(found.hops[2].edge.via ?? '', /IORuntimeCtx_Schedule/);
});

test('RediSearch: set_workers reaches barrier_wait_and_destroy through remove_threads', { skip }, async () => {
  const a = await analyze();
  const expected = ['set_workers', 'workersThreadPool_SetNumWorkers', 'redisearch_thpool_remove_threads', 'redisearch_thpool_broadcast_new_state', 'barrier_wait_and_destroy'];
  assert.ok(chains(a, 'set_workers', 'barrier_wait_and_destroy').some((c) => c.names.join() === expected.join()));
});

test('RediSearch: the pool thread reaches the admin job through the queued job function pointer', { skip }, async () => {
  const a = await analyze();
  const c = chains(a, 'thread_do', 'admin_job_change_state');
  assert.ok(c.some((x) => x.names.length === 2 && x.hops[0].edge.kind === 'indirect' && /function/.test(x.hops[0].edge.via ?? '')));
});

test('RediSearch: setWorkThreads is defined through CONFIG_SETTER and reaches workersThreadPool_SetNumWorkers', { skip }, async () => {
  const a = await analyze();
  const fn = a.graph.functions.find((f) => f.name === 'setWorkThreads' && f.defined);
  assert.ok(fn);
  assert.equal(fn.definedByMacro, 'CONFIG_SETTER');
  assert.equal(fn.file, 'src/config.c');
  assert.ok(chains(a, 'setWorkThreads', 'workersThreadPool_SetNumWorkers').length > 0);
});

// Issue 3 acceptance: the deadlock findings at dede3e11, gone at the fix 874ce682, and `diff`
// between the two reports them as fixed. LOCKPATH_REDISEARCH_FIX_DIR holds the fix's src and deps.

const fixDir = process.env.LOCKPATH_REDISEARCH_FIX_DIR;
const skipFix = dir && fixDir ? false : 'LOCKPATH_REDISEARCH_DIR and LOCKPATH_REDISEARCH_FIX_DIR (RediSearch 874ce682) are not both set';
if (skipFix) console.log(`# skipping RediSearch fix/diff acceptance tests: ${skipFix}`);

let bad: Promise<ProjectAnalysis> | undefined;
const badFindings = () => (bad ??= analyzeProject(dir!));

const isBarrierRisk = (entry: string, through?: string) => (f: ProjectAnalysis['findings'][number]) =>
  f.class === 'deadlock-risk' && f.entry.function === entry && f.wait?.function === 'barrier_wait_and_destroy'
  && (!through || f.path.some((h) => h.to === through) || (f.alsoThrough ?? []).includes(through));

test('RediSearch dede3e11: deadlock-risk for set_workers and for FT.CONFIG through setWorkThreads', { skip }, async () => {
  const { findings } = await badFindings();
  const setWorkers = findings.find(isBarrierRisk('set_workers'));
  assert.ok(setWorkers, 'set_workers → barrier_wait_and_destroy');
  assert.equal(setWorkers.entry.kind, 'config-set');
  const pool = setWorkers.awaited.find((a) => a.threadRoot.startsWith('thread_do') && a.takesLock);
  assert.ok(pool, 'the pool threads, which may take the GIL');
  // The explanation: barrier->received is written by barrier_wait, which the admin job
  // the pool threads run calls (not by barrier_init's reset).
  assert.equal(pool.releaser.function, 'barrier_wait');
  assert.deepEqual(pool.pathToReleaser.map((h) => h.to.split('@')[0]), ['admin_job_change_state', 'barrier_wait']);
  // "those same threads run query jobs that take the GIL": a job queued to the workers pool
  // (not, say, the GC pool's job, which thread_do also runs).
  assert.ok(['AREQ_Execute_Callback', 'HREQ_Execute_Callback', 'cursorRead_ctx'].includes(pool.takesLock!.path[0].to.split('@')[0]), pool.takesLock!.path[0].to);
  assert.equal(pool.takesLock!.poolCaveat, undefined);
  assert.ok(setWorkers.sequencedAfter.some((s) => s.macro === 'COORDINATOR_TRIGGER' && s.reaches.includes('MRConnManager_Shrink')));
  assert.ok(findings.find(isBarrierRisk('ConfigCommand', 'setWorkThreads')), 'FT.CONFIG → setWorkThreads → barrier_wait_and_destroy');
});

test('RediSearch dede3e11: waits on cleanPool, whose jobs never take the GIL, are stalls; the other pools include the id-named coordinator pool', { skip }, async () => {
  const { findings } = await badFindings();
  const onCleanPool = findings.filter((f) => f.awaited.some((a) => a.lockInOtherPools?.waitedPools.includes('cleanPool')));
  assert.ok(onCleanPool.length >= 1, 'findings that wait on cleanPool');
  for (const f of onCleanPool) {
    assert.equal(f.class, 'stall', f.message);
    assert.ok(f.path.some((h) => h.to.startsWith('IndexSpec_Free')), 'through the spec free that queues to cleanPool');
  }
  // No finding waiting on cleanPool is left with a caveat: every pool proof went through.
  assert.ok(findings.every((f) => f.awaited.every((a) => !a.takesLock?.poolCaveat?.waitedPools.includes('cleanPool'))));
});

test('RediSearch dede3e11: the drains wait for the pool threads that finish jobs, not for the thread that queues them', { skip }, async () => {
  const { findings } = await badFindings();
  const drains = findings.filter((f) => f.wait?.function.startsWith('redisearch_thpool_drain'));
  assert.ok(drains.length >= 1, 'drain findings');
  for (const f of drains) {
    assert.equal(f.class, 'deadlock-risk', f.message);
    assert.ok(f.yielding, 'the drain yields');
    assert.deepEqual(f.awaited.map((a) => a.threadRoot.split('@')[0]), ['thread_do'], f.message);
    assert.match(f.awaited[0].releaser.action, /num_jobs_in_progress/);
  }
});

test('RediSearch dede3e11: every lock is tracked with its identity, and the spec-lock wrappers are discovered', { skip }, async () => {
  const { summary, findings } = await badFindings();
  const locks = new Map(summary.locks.locks.map((l) => [l.lock, l]));
  assert.match(locks.get('IndexSpec.rwlock')?.identity ?? '', /field rwlock of struct IndexSpec/);
  assert.ok(locks.has('GIL') && locks.has('priority_queue.lock'));
  const wrapper = (fn: string, role: string, mode?: string) => summary.locks.wrappers.some((w) => w.function === fn && w.role === role && w.lock === 'IndexSpec.rwlock' && (!mode || w.mode === mode));
  assert.ok(wrapper('RedisSearchCtx_LockSpecRead', 'acquire', 'read'));
  assert.ok(wrapper('RedisSearchCtx_LockSpecWrite', 'acquire', 'write'));
  assert.ok(wrapper('RedisSearchCtx_UnlockSpec', 'release'));
  assert.ok(summary.locks.orderEdges > 0);
  // Verdicts from reading the code (see the closing note of the locks issue): no inversion, because
  // the background loader drops the spec lock before it takes the GIL.
  for (const f of findings.filter((x) => x.class === 'lock-order')) assert.fail(`unexpected lock-order finding: ${f.message}`);
});

test('RediSearch 874ce682 (the fix): both findings are gone, and diff reports them fixed', { skip: skipFix }, async () => {
  const fixed = await analyzeProject(fixDir!);
  assert.ok(!fixed.findings.some(isBarrierRisk('set_workers')));
  assert.ok(!fixed.findings.some(isBarrierRisk('ConfigCommand', 'setWorkThreads')));

  const repo = mkdtempSync(path.join(os.tmpdir(), 'lockpath-rs-diff-'));
  try {
    const git = (...args: string[]) => {
      const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@lockpath.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, r.stderr);
    };
    git('init', '-q');
    cpSync(dir!, repo, { recursive: true });
    git('add', '-A');
    git('commit', '-q', '-m', 'dede3e11');
    rmSync(path.join(repo, 'src'), { recursive: true });
    rmSync(path.join(repo, 'deps'), { recursive: true });
    cpSync(fixDir!, repo, { recursive: true });
    git('add', '-A');
    git('commit', '-q', '-m', '874ce682');
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'lockpath.js'), 'diff', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.fixed.some(isBarrierRisk('set_workers')), 'set_workers finding reported fixed');
    assert.ok(out.fixed.some(isBarrierRisk('ConfigCommand', 'setWorkThreads')), 'FT.CONFIG finding reported fixed');
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});
