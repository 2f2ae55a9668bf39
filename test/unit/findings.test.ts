import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeProject } from '../../src/analyzer/project';
import { FIXTURES } from '../support/analyze';
import { findingKey, readFindingExpectations } from '../support/findingExpectations';
import { findingToText } from '../../src/analyzer/report/findingsText';
import { tempDir } from '../support/tempDir';
import { ObjectFlows } from '../../src/analyzer/concurrency/objectFlows';
import { redisModuleProfile } from '../../src/analyzer/profile/redisModule';

// Each directory under fixtures/findings is a small program; the findings lockpath reports there
// must be exactly the annotated ones (class, line, entry, yielding). FP_/FN_ directories record
// known imprecision: their annotations say what lockpath reports today.
const root = path.join(FIXTURES, 'findings');
const cases = existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort() : [];

test('there are _bad and _ok finding fixtures', () => {
  assert.ok(cases.some((c) => c.endsWith('_bad')), 'a _bad case');
  assert.ok(cases.some((c) => c.endsWith('_ok')), 'an _ok case');
});

for (const name of cases) {
  test(`findings: ${name}`, async () => {
    const dir = path.join(root, name);
    const { expected, none } = readFindingExpectations(dir);
    const { findings } = await analyzeProject(dir, { workers: 0 });
    const actual = findings.filter((f) => !f.suppressed).map(findingKey);
    const fmt = (k: { file: string; line: number; cls: string; entry: string; yielding: boolean }) => `${k.cls} entry=${k.entry}${k.yielding ? ' yielding' : ''} at ${k.file}:${k.line}`;
    const missing = expected.filter((e) => !actual.some((a) => a.file === e.file && a.line === e.line && a.cls === e.cls && a.entry === e.entry && a.yielding === e.yielding));
    const unexpected = actual.filter((a) => !expected.some((e) => a.file === e.file && a.line === e.line && a.cls === e.cls && a.entry === e.entry));
    const wrongYield = actual.filter((a) => expected.some((e) => a.file === e.file && a.line === e.line && a.cls === e.cls && a.entry === e.entry && a.yielding !== e.yielding));
    const atNone = actual.filter((a) => none.some((n) => n.file === a.file && n.line === a.line));
    assert.deepEqual(
      { missing: missing.map(fmt), unexpected: unexpected.map(fmt), wrongYielding: wrongYield.map(fmt), atNoFindingLines: atNone.map(fmt) },
      { missing: [], unexpected: [], wrongYielding: [], atNoFindingLines: [] },
    );
    if (name.endsWith('_ok')) assert.ok(none.length > 0, 'an _ok case marks its waits with expect-no-finding');
    if (name.endsWith('_bad')) assert.ok(expected.length > 0, 'a _bad case expects at least one finding');
  });
}

test('evidence: the releaser is the counter that moves, and the lock is taken in the job that releases', async () => {
  // releaser_evidence_bad: a pool thread reaches `acked = 0` (reset_job) and a GIL-taking job
  // (query_job) in fewer steps than the ack job that counts in and takes the GIL itself.
  const { findings } = await analyzeProject(path.join(root, 'releaser_evidence_bad'), { workers: 0 });
  const risk = findings.find((f) => f.class === 'deadlock-risk');
  assert.ok(risk, 'a deadlock-risk finding');
  // stats_thread only sets another ack_counter up: not an awaited thread.
  assert.deepEqual(risk.awaited.map((a) => a.threadRoot), ['pool_thread@module.c']);
  const [awaited] = risk.awaited;
  assert.equal(awaited.releaser.function, 'ack_counter_add@module.c');
  assert.deepEqual(awaited.pathToReleaser.map((h) => h.to), ['ack_job@module.c', 'ack_counter_add@module.c']);
  assert.deepEqual(awaited.takesLock?.path.map((h) => h.to), ['ack_job@module.c', 'record_ack@module.c']);
  assert.equal(awaited.takesLock?.function, 'record_ack@module.c');
});

test('evidence: with pools sharing a thread function, the GIL-taking job named is one handed to the pool the path waits on', async () => {
  // pool_evidence_bad: LP.DRAIN waits for query_pool; maint_pool's maint_job takes the GIL in
  // fewer steps than query_job (queued through the query_submit wrapper).
  const { findings } = await analyzeProject(path.join(root, 'pool_evidence_bad'), { workers: 0 });
  const risk = findings.find((f) => f.class === 'deadlock-risk');
  assert.ok(risk, 'a deadlock-risk finding');
  const taker = risk.awaited.find((a) => a.takesLock)?.takesLock;
  assert.deepEqual(taker?.path.map((h) => h.to), ['query_job@module.c', 'run_query@module.c']);
  assert.match(risk.message, /taking the GIL in run_query/);
});

test('evidence: a GIL-taking job queued to another pool than the one waited on comes with a pool caveat', async () => {
  // FP_pool_handle_ids: ZIP.SYNC waits for the pool of zip_id, whose job never takes the GIL; the
  // evidence goes through query_id's job (the pools share their thread function, and integer ids
  // cannot be proved to name two pools).
  const { findings } = await analyzeProject(path.join(root, 'FP_pool_handle_ids'), { workers: 0 });
  const risk = findings.find((f) => f.class === 'deadlock-risk');
  assert.ok(risk);
  assert.deepEqual(risk.awaited.find((a) => a.takesLock)?.takesLock?.poolCaveat, { job: 'query_job@module.c', pools: ['query_id'], waitedPools: ['zip_id'] });
  assert.match(risk.message, /no job queued to zip_id, which this path waits on, takes the GIL: if those threads never run query_job, this is a stall/);
  // When the waited-on pool's own job takes the GIL, there is nothing to caveat.
  const same = await analyzeProject(path.join(root, 'pool_evidence_bad'), { workers: 0 });
  assert.ok(same.findings.every((f) => f.awaited.every((a) => !a.takesLock?.poolCaveat)));
});

test('pools: a wait for a pool of its own whose jobs never take the GIL is a stall, with the other pool\'s job as the evidence set aside', async () => {
  // other_pool_jobs_stall_bad: zip_pool and query_pool each hold pool_create()'s new pool.
  const { findings } = await analyzeProject(path.join(root, 'other_pool_jobs_stall_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => f.class), ['stall']);
  const [stall] = findings;
  const thread = stall.awaited.find((a) => a.threadRoot === 'pool_thread_main@pool.c');
  assert.ok(thread, 'the pool thread is awaited');
  assert.equal(thread.takesLock, null);
  assert.equal(thread.lockInOtherPools?.job, 'query_job@module.c');
  assert.deepEqual([thread.lockInOtherPools?.pools, thread.lockInOtherPools?.waitedPools], [['query_pool'], ['zip_pool']]);
  assert.equal(thread.lockInOtherPools?.function, 'query_job@module.c');
  assert.deepEqual(thread.lockInOtherPools?.path.map((h) => [h.to, h.kind]), [['query_job@module.c', 'indirect']]);
  assert.match(stall.message, /query_job, which takes the GIL, is queued to query_pool, not to zip_pool, which this path waits on; zip_pool holds a pool of its own that no other name reaches/);
  assert.match(findingToText(stall, 0), /it never takes the GIL before releasing: query_job, which takes the GIL, is queued to query_pool/);
  // The ground of "no other name reaches it": every place zip_pool's value goes.
  assert.deepEqual(thread.lockInOtherPools?.waitedPoolReaches, ['p in pool_submit', 'p in pool_wait_idle']);
  assert.match(findingToText(stall, 0), /zip_pool's value only reaches: p in pool_submit, p in pool_wait_idle/);
});

test('pools: a constructor that also keeps the new pool elsewhere, or a getter, does not make a pool of its own', async () => {
  // other_pool_jobs_stall_bad changed two ways; each must keep the deadlock-risk, since the
  // waited-on pool may then be reached under another name.
  const src = path.join(root, 'other_pool_jobs_stall_bad');
  const variants: [string, (pool: string, mod: string) => [string, string]][] = [
    ['registry', (pool, mod) => [pool.replace('pool *p = calloc(1, sizeof(*p));', 'pool *p = calloc(1, sizeof(*p));\n  last_pool = p;').replace('#include "pool.h"', '#include "pool.h"\n\npool *last_pool;'), mod]],
    ['getter', (pool, mod) => [pool + '\npool *shared_pool(void) { static pool *one; if (!one) one = pool_create(2); return one; }\n', mod.replace('zip_pool = pool_create(2);', 'zip_pool = shared_pool();').replace('query_pool = pool_create(2);', 'query_pool = shared_pool();').replace('#include "pool.h"', '#include "pool.h"\npool *shared_pool(void);')]],
  ];
  for (const [name, change] of variants) {
    const dir = tempDir(path.join(os.tmpdir(), `lockpath-pools-${name}-`));
    for (const f of readdirSync(src)) copyFileSync(path.join(src, f), path.join(dir, f));
    const [pool, mod] = change(readFileSync(path.join(src, 'pool.c'), 'utf8'), readFileSync(path.join(src, 'module.c'), 'utf8'));
    writeFileSync(path.join(dir, 'pool.c'), pool);
    writeFileSync(path.join(dir, 'module.c'), mod);
    const { findings } = await analyzeProject(dir, { workers: 0 });
    assert.deepEqual(findings.map((f) => f.class), ['deadlock-risk'], name);
    assert.ok(findings[0].awaited.some((a) => a.takesLock?.poolCaveat), `${name}: the caveat says what was not proved`);
  }
});

test('pools: a waited-on pool of its own is told apart from a pool named by an integer id', async () => {
  // handle_pool_jobs_stall_bad: ZIP.SYNC waits on the pointer zip_pool; query_job is queued to
  // pools[query_id], as RediSearch's coordinator pool is named by DIST_THREADPOOL.
  const { findings } = await analyzeProject(path.join(root, 'handle_pool_jobs_stall_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => f.class), ['stall']);
  const thread = findings[0].awaited.find((a) => a.threadRoot === 'pool_thread_main@pool.c');
  assert.equal(thread?.takesLock, null);
  assert.deepEqual([thread?.lockInOtherPools?.job, thread?.lockInOtherPools?.pools, thread?.lockInOtherPools?.waitedPools], ['query_job@module.c', ['query_id'], ['zip_pool']]);
  assert.match(findings[0].message, /is queued to query_id, not to zip_pool, which this path waits on; zip_pool holds a pool of its own that no other name reaches/);
  assert.deepEqual(thread?.lockInOtherPools?.waitedPoolReaches, ['p in pool_submit', 'p in pool_wait_idle']);
});

test('pools: a waited-on pool whose value reaches another name, or leaves what lockpath follows, keeps the deadlock-risk', async () => {
  // handle_pool_jobs_stall_bad changed three ways: zip_pool also put in the table query_job is
  // queued through (so query_job may run on its threads: a real deadlock), handed to a registry
  // outside the tree, or written through an out-parameter (both may give it another name).
  const src = path.join(root, 'handle_pool_jobs_stall_bad');
  const onLoad = '  zip_pool = pool_create(2);\n';
  const variants: [string, (mod: string) => string][] = [
    ['in the table', (mod) => mod.replace(onLoad, `${onLoad}  pools[n_pools++] = zip_pool;\n`)],
    ['registry', (mod) => mod.replace(onLoad, `${onLoad}  pool_registry_add(zip_pool);\n`).replace('#include "pool.h"', '#include "pool.h"\nvoid pool_registry_add(pool *p);')],
    ['out-parameter', (mod) => mod.replace('static int n_pools;', 'static int n_pools;\n\nvoid zip_pool_into(pool **out) { *out = zip_pool; }')],
  ];
  for (const [name, change] of variants) {
    const dir = tempDir(path.join(os.tmpdir(), `lockpath-handles-${name.replace(/\W+/g, '-')}-`));
    for (const f of readdirSync(src)) copyFileSync(path.join(src, f), path.join(dir, f));
    const mod = change(readFileSync(path.join(src, 'module.c'), 'utf8'));
    assert.notEqual(mod, readFileSync(path.join(src, 'module.c'), 'utf8'), `${name}: the variant applies`);
    writeFileSync(path.join(dir, 'module.c'), mod);
    const { findings } = await analyzeProject(dir, { workers: 0 });
    assert.deepEqual(findings.map((f) => f.class), ['deadlock-risk'], name);
    assert.ok(findings[0].awaited.some((a) => a.takesLock?.poolCaveat), `${name}: the caveat says what was not proved`);
  }
});

test('object flows: where a pool global\'s value goes, and why it may be reachable from elsewhere', async () => {
  const src = path.join(root, 'handle_pool_jobs_stall_bad');
  const { analysis } = await analyzeProject(src, { workers: 0 });
  const flows = new ObjectFlows(analysis.program, redisModuleProfile.threadCreators);
  const fnIndex = (name: string) => analysis.program.functions.findIndex((f) => f.name === name);
  const zip = flows.reachOf('G:module.c:zip_pool');
  // Into the parameters of the functions it is passed to, and nowhere else.
  assert.deepEqual([...zip.holders].sort(), ['G:module.c:zip_pool', `L${fnIndex('pool_submit')}:p`, `L${fnIndex('pool_wait_idle')}:p`].sort());
  assert.deepEqual(zip.leaks, []);
  // pool_create's new pool goes to the pool threads through pthread_create's routine argument.
  const created = flows.reachOf(`L${fnIndex('pool_create')}:p`);
  assert.ok(created.holders.has(`L${fnIndex('pool_thread_main')}:arg`), 'the thread routine\'s parameter');
  assert.ok(created.holders.has(`R${fnIndex('pool_create')}`), 'the constructor\'s return value');
  // A registry outside the tree is a leak, named with its call site.
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-objflows-'));
  for (const f of readdirSync(src)) copyFileSync(path.join(src, f), path.join(dir, f));
  const mod = readFileSync(path.join(src, 'module.c'), 'utf8');
  writeFileSync(path.join(dir, 'module.c'), mod.replace('static void zip_job(void *arg) {', 'void pool_registry_add(pool *p);\nvoid remember(void) { pool_registry_add(zip_pool); }\n\nstatic void zip_job(void *arg) {'));
  const variant = await analyzeProject(dir, { workers: 0 });
  const leaks = new ObjectFlows(variant.analysis.program, redisModuleProfile.threadCreators).reachOf('G:module.c:zip_pool').leaks;
  assert.equal(leaks.length, 1);
  assert.match(leaks[0], /^passed to pool_registry_add \(outside the tree or unresolved\) at module\.c:\d+$/);
});

test('a started thread that waits holding the GIL for a command waits for Redis\' main thread', async () => {
  // guarded_lock_bad: the reaper may keep the GIL and waits for LP.DROP to queue an entry; Redis
  // runs LP.DROP on its main thread only holding the GIL.
  const { findings } = await analyzeProject(path.join(root, 'guarded_lock_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => f.class), ['deadlock-risk']);
  const [main] = findings[0].awaited;
  assert.equal(main.mainThread, true);
  assert.equal(main.threadRoot, 'drop_command@reaper.c');
  assert.equal(main.releaser.action, 'pthread_cond_signal(&reap_cv)');
  assert.equal(main.takesLock?.function, 'drop_command@reaper.c');
  assert.match(findings[0].message, /waits in reaper_main \(pthread_cond_wait\(&reap_cv, …\)\) for Redis' main thread, which runs drop_command only holding the GIL/);
  assert.match(findingToText(findings[0], 0), /thread 2: Redis' main thread \(drop_command\) — releases the wait/);
  // Waits on the main thread itself are not for the main thread.
  const risk = await analyzeProject(path.join(root, 'mod11658_bad'), { workers: 0 });
  assert.ok(risk.findings.every((f) => f.awaited.every((a) => !a.mainThread)));
});

test('pools: two globals naming one pool (a copy) keep the deadlock-risk', async () => {
  // pool_alias_bad: query_pool = zip_pool, so query_job runs on the threads ZIP.SYNC waits for.
  const { findings } = await analyzeProject(path.join(root, 'pool_alias_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => f.class), ['deadlock-risk']);
  const thread = findings[0].awaited.find((a) => a.takesLock);
  assert.equal(thread?.takesLock?.function, 'query_job@module.c');
  assert.equal(thread?.lockInOtherPools, undefined);
});

test('try-locks: one retried until it succeeds blocks like the lock, with the retry loop as evidence', async () => {
  // trylock_retry_bad: `while (TryLock(ctx) != OK) usleep(50);`, a do-while on a flag only the try
  // sets, and `for (;;) { if (TryLock(ctx) == OK) break; usleep(50); }`.
  const { findings } = await analyzeProject(path.join(root, 'trylock_retry_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => f.class), ['deadlock-risk', 'deadlock-risk', 'deadlock-risk']);
  const retries = findings.map((f) => f.awaited[0].takesLock?.tryLock);
  assert.deepEqual(retries.map((r) => r?.loop.line), [29, 49, 70]);
  assert.ok(retries.every((r) => r?.why === 'retried until it succeeds: nothing bounds the loop'));
  assert.match(findings[0].message, /can block taking the GIL in publish_report \(a try-lock retried until it succeeds\)/);
  assert.match(findingToText(findings[1], 0), /tries the GIL at reporters\.c:50:14 in the loop at reporters\.c:49:3, retried until it succeeds/);
});

test('try-locks: one that gives up (one attempt, a clock deadline through a helper, a retry counter, a way out) does not block', async () => {
  const { findings } = await analyzeProject(path.join(root, 'trylock_gives_up_stall_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => f.class), ['stall', 'stall', 'stall', 'stall']);
  const tries = findings.map((f) => f.awaited[0].triesLock);
  assert.ok(findings.every((f) => f.awaited[0].takesLock === null));
  assert.deepEqual(tries.map((t) => [t?.function, t?.site.line]), [['sampler_main@samplers.c', 42], ['export_once@samplers.c', 57], ['probe_once@samplers.c', 78], ['warmer_main@samplers.c', 99]]);
  assert.deepEqual(tries.map((t) => t?.why), [
    'tried once per iteration of a loop that goes on without it',
    'retried until a deadline: the loop condition reads a clock',
    'retried a bounded number of times: the condition tests tries, locked',
    'retried in a loop that can give up (break/return)',
  ]);
  assert.match(findingToText(findings[1], 0), /it never blocks on the GIL before releasing; it only tries it in export_once at samplers\.c:57:14/);
});

test('a wait reached with and without the GIL: the finding says what holds on its own path', async () => {
  // path_state_evidence_bad: pool_submit() is called by LP.SUBMIT holding the GIL and by LP.DRAIN
  // after it lets go of the GIL. Joined, pool_submit() "may" hold it; along LP.SUBMIT's path it does.
  const { findings } = await analyzeProject(path.join(root, 'path_state_evidence_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => [f.class, f.entry.function]), [['deadlock-risk', 'submit_command@acks.c']]);
  assert.doesNotMatch(findings[0].message, /may be held/);
  assert.deepEqual(findings[0].path.map((h) => h.lockState), ['held']);
});

test('a lock a thread may hold from a caller: the lock-order evidence follows a path that holds it', async () => {
  // lock_order_held_path_bad: publish_event() takes the Redis GIL; worker_main calls it directly
  // (holding nothing) and through py_job, after py_enter() took the Python GIL. The shortest path
  // is the direct one; the evidence must be py_job's, with the call that took the Python GIL.
  const { findings } = await analyzeProject(path.join(root, 'lock_order_held_path_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => [f.class, f.lock]), [['lock-order', 'GIL, Python GIL']]);
  const pool = findings[0].threads!.find((t) => t.context.startsWith('worker_main'))!;
  assert.equal(pool.holds.lock, 'Python GIL');
  assert.equal(pool.holds.function, 'py_job@pyjobs.c');
  const text = readFileSync(path.join(root, 'lock_order_held_path_bad', 'pyjobs.c'), 'utf8').split('\n');
  assert.match(text[pool.holds.site.line - 1], /int entered = py_enter\(\);/);
  assert.deepEqual(pool.path.map((h) => h.to), ['py_job@pyjobs.c', 'publish_event@pyjobs.c']);
  assert.doesNotMatch(findingToText(findings[0], 0), /since the thread-root started/);
});

test('a counted GIL wrapper entered without the GIL returns holding it: the wait is under the GIL, not "maybe"', async () => {
  // counted_acquire_wait_bad: the executor takes the GIL through gil_acquire() (locks at depth 0,
  // counts the depth) in a job and spins there for a thread that needs the GIL.
  const { findings } = await analyzeProject(path.join(root, 'counted_acquire_wait_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => [f.class, f.entry.function]), [['deadlock-risk', 'executor_main@gears.c']]);
  assert.doesNotMatch(findings[0].message, /may be held/);
  assert.deepEqual(findings[0].path.map((h) => [h.to, h.lockState]), [['flush_task@gears.c', 'not-held']]);
});
