import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeTree } from '../../src/analyzer/analyze';
import type { Analysis } from '../../src/analyzer/analyze';
import { trace } from '../../src/analyzer/query/trace';

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
