import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeProject } from '../../src/analyzer/project';
import { FIXTURES } from '../support/analyze';
import { tempDir } from '../support/tempDir';

// The lock model behind lock-order and deferred-release findings: which locks exist, how each is
// named, and which functions are discovered as acquire or release wrappers.

const summaryOf = async (dir: string) => (await analyzeProject(dir, { workers: 0 })).summary.locks;
const bare = (id: string) => id.split('@')[0];

test('wrappers are discovered from their bodies, including ones that take the lock as a parameter', async () => {
  const mutex = await summaryOf(path.join(FIXTURES, 'findings', 'lock_order_mutex_bad'));
  assert.deepEqual(mutex.wrappers.map((w) => [bare(w.function), w.role, w.lock]).sort(), [['index_lock', 'acquire', 'index_t.lock'], ['index_unlock', 'release', 'index_t.lock']]);
  assert.deepEqual(mutex.locks.map((l) => l.lock).sort(), ['index_t.lock', 'stats_lock']);
  const journal = await summaryOf(path.join(FIXTURES, 'findings', 'lock_order_param_wrapper_bad'));
  assert.deepEqual(journal.wrappers.map((w) => [bare(w.function), w.role, w.lock]).sort(), [['lock_checked', 'acquire', 'parameter 1'], ['unlock_checked', 'release', 'parameter 1']]);
  // Each caller's argument names the lock: two distinct globals, four operations each.
  const ops = Object.fromEntries(journal.locks.map((l) => [l.lock, l.operations]));
  assert.equal(ops.journal_lock, 4);
  assert.equal(ops.segment_lock, 4);
});

test('a conditional lock without any release is a (re-entrant) acquire wrapper; a conditional lock and unlock pair is not', async () => {
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-locks-'));
  writeFileSync(path.join(dir, 'rw.c'), [
    '#include <pthread.h>',
    'static pthread_rwlock_t big_lock;',
    'static __thread int depth;',
    'static pthread_mutex_t sync_mu;',
    'void big_read_lock(void) { if (depth == 0) pthread_rwlock_rdlock(&big_lock); depth++; }',
    'void big_unlock(void) { if (--depth == 0) pthread_rwlock_unlock(&big_lock); }',
    'void maybe_locked_work(int take) { if (take) pthread_mutex_lock(&sync_mu); depth += 0; if (take) pthread_mutex_unlock(&sync_mu); }',
    '',
  ].join('\n'));
  const s = await summaryOf(dir);
  const roles = s.wrappers.map((w) => `${bare(w.function)} ${w.role} ${w.lock}${w.mode ? ` ${w.mode}` : ''}`).sort();
  assert.deepEqual(roles, ['big_read_lock acquire big_lock read', 'big_unlock release big_lock']);
  assert.match(s.locks.find((l) => l.lock === 'big_lock')!.identity, /static variable big_lock in rw\.c/);
});

test('a lock reached through a local pointer is named by what the pointer was assigned', async () => {
  const s = await summaryOf(path.join(FIXTURES, 'findings', 'lock_order_local_pointer_bad'));
  const mu = s.locks.find((l) => l.lock === 'entry_t.mu');
  assert.ok(mu, s.locks.map((l) => l.lock).join(', '));
  assert.equal(mu.operations, 4);
  assert.match(mu.identity, /field mu of struct entry_t/);
});

test('a lock in a variable of an untagged struct type is named after the variable, and told apart from other untagged structs\' locks', async () => {
  const bad = await summaryOf(path.join(FIXTURES, 'findings', 'lock_order_untagged_bad'));
  const lock = bad.locks.find((l) => l.lock === 'the_index.lock');
  assert.ok(lock, bad.locks.map((l) => l.lock).join(', '));
  assert.match(lock.identity, /field lock of the_index, of an untagged struct type, declared in index\.c/);
  const ok = await summaryOf(path.join(FIXTURES, 'findings', 'lock_order_untagged_ok'));
  assert.deepEqual(ok.locks.map((l) => l.lock).sort(), ['cache.lock', 'journal.lock', 'stats_lock']);
});

test('lock order: a thread that may hold the GIL after a call names that call as where it took it', async () => {
  // refresh_main calls refresh_step, which takes the GIL under one flag and drops it under
  // another, so the GIL may still be held when refresh_main takes stats_mu (no lock wrapper: the
  // function releases it on some path). The trace must say where that happened, not "held since
  // the thread-root started": a thread does not start holding the GIL.
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-gil-taken-'));
  writeFileSync(path.join(dir, 'redismodule.h'), readFileSync(path.join(FIXTURES, 'findings', 'gil_writers_mutex_bad', 'redismodule.h'), 'utf8'));
  writeFileSync(path.join(dir, 'refresh.c'), `#include <pthread.h>
#include <unistd.h>
#include "redismodule.h"

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static RedisModuleCtx *tctx;
static int need_keys, done_keys;
static long stats;

static void refresh_step(void) {
  if (need_keys) RedisModule_ThreadSafeContextLock(tctx);
  stats++;
  if (done_keys) RedisModule_ThreadSafeContextUnlock(tctx);
}

static void *refresh_main(void *arg) {
  for (;;) {
    refresh_step();
    pthread_mutex_lock(&stats_mu);
    stats--;
    pthread_mutex_unlock(&stats_mu);
    sleep(1);
  }
  return NULL;
}

static void *report_main(void *arg) {
  for (;;) {
    pthread_mutex_lock(&stats_mu);
    RedisModule_ThreadSafeContextLock(tctx);
    stats = 0;
    RedisModule_ThreadSafeContextUnlock(tctx);
    pthread_mutex_unlock(&stats_mu);
    sleep(1);
  }
  return NULL;
}

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
  pthread_t a, b;
  tctx = RedisModule_GetThreadSafeContext(NULL);
  pthread_create(&a, NULL, refresh_main, NULL);
  pthread_create(&b, NULL, report_main, NULL);
  return REDISMODULE_OK;
}
`);
  const { findings } = await analyzeProject(dir, { workers: 0 });
  const order = findings.find((f) => f.class === 'lock-order');
  assert.ok(order, 'a lock-order finding');
  const refresher = order.threads!.find((t) => t.context.startsWith('refresh_main'));
  assert.ok(refresher, 'the refresher thread is one side');
  assert.equal(refresher.holds.lock, 'GIL');
  assert.equal(bare(refresher.holds.function), 'refresh_main');
  assert.equal(refresher.holds.site.line, 18, 'the call to refresh_step');
});

test('lock state: a wrapper that returns a value after taking the GIL leaves it held (returns count as exits)', async () => {
  // take_gil ends with `return 1;` (its end is never reached): its exits are its returns. A walk
  // that only kept the end of the body would see no exit and treat the call as changing nothing.
  const dir = tempDir(path.join(os.tmpdir(), 'lockpath-return-exit-'));
  writeFileSync(path.join(dir, 'redismodule.h'), readFileSync(path.join(FIXTURES, 'findings', 'gil_writers_mutex_bad', 'redismodule.h'), 'utf8'));
  writeFileSync(path.join(dir, 'waiter.c'), `#include <pthread.h>
#include "redismodule.h"

static RedisModuleCtx *tctx;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static int take_gil(void) {
  RedisModule_ThreadSafeContextLock(tctx);
  return 1;
}

static void *waiter_main(void *arg) {
  take_gil();
  pthread_mutex_lock(&mu);
  while (!ready) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  RedisModule_ThreadSafeContextUnlock(tctx);
  return NULL;
}

static int ready_command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
  pthread_mutex_lock(&mu);
  ready = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  return RedisModule_ReplyWithSimpleString(ctx, "OK");
}

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
  pthread_t t;
  tctx = RedisModule_GetThreadSafeContext(NULL);
  pthread_create(&t, NULL, waiter_main, NULL);
  RedisModule_CreateCommand(ctx, "LP.READY", ready_command, "", 0, 0, 0);
  return REDISMODULE_OK;
}
`);
  const { findings } = await analyzeProject(dir, { workers: 0 });
  const wait = findings.find((f) => f.wait?.function.startsWith('waiter_main'));
  assert.ok(wait, 'the wait under the GIL is a finding');
  assert.equal(wait.class, 'deadlock-risk');
  assert.doesNotMatch(wait.message, /may be held/, 'held on every path');
});

test('lock state: taking the GIL where it is held on every path goes no further, so a guarded relock keeps a command holding it', async () => {
  // lock_order_main_relock_ok: with_gil() locks unless on the main thread; from a command (GIL held)
  // the locking branch would never return, so after with_gil() the command still holds the GIL.
  const { analysis, findings } = await analyzeProject(path.join(FIXTURES, 'findings', 'lock_order_main_relock_ok'), { workers: 0 });
  assert.deepEqual(findings, []);
  const { LockStateAnalysis, HELD, FREE } = await import('../../src/analyzer/concurrency/lockState');
  const { redisModuleProfile } = await import('../../src/analyzer/profile/redisModule');
  const gil = new LockStateAnalysis(analysis.program, redisModuleProfile.locks.find((l) => l.lock === 'GIL')!);
  const withGil = analysis.program.functions.findIndex((f) => f.name === 'with_gil');
  assert.equal(gil.states(withGil, HELD).exit, HELD, 'entered holding the GIL, it returns holding it, never without');
  assert.equal(gil.states(withGil, FREE).exit, FREE, 'entered without it, it takes and gives it back');
});

test('lock state: a restore after a save leaves the lock as it was before the save, in whichever loops they run', async () => {
  // save_restore_ok: redis_lock() runs the handlers' saves in one loop and their restores in another.
  const { analysis } = await analyzeProject(path.join(FIXTURES, 'findings', 'save_restore_ok'), { workers: 0 });
  const { LockStateAnalysis, HELD, FREE } = await import('../../src/analyzer/concurrency/lockState');
  const { redisModuleProfile } = await import('../../src/analyzer/profile/redisModule');
  const python = new LockStateAnalysis(analysis.program, redisModuleProfile.locks.find((l) => l.lock === 'Python GIL')!);
  const fn = (name: string) => analysis.program.functions.findIndex((f) => f.name === name);
  assert.equal(python.states(fn('redis_lock'), FREE).exit, FREE, 'entered without the Python GIL, the restore takes nothing back');
  // Entered holding it, the restore takes it back; that the two loops run equally often is not
  // known, so the save loop having run and the restore loop not leaves it "maybe".
  assert.ok(python.states(fn('redis_lock'), HELD).exit & HELD, 'entered holding it, it may return holding it');
  // Each wrapper alone still says what it may do: the pairing is what ties them.
  assert.equal(python.states(fn('py_restore'), FREE).exit, HELD | FREE, 'a restore alone may take the Python GIL');
  assert.equal(python.states(fn('py_save'), HELD).exit, HELD | FREE, 'a save alone may leave it held');
});

test('a lock in a struct whose tag the tree defines differently in several places is named by the tag, and the identity says which definition', async () => {
  const { describeLock } = await import('../../src/analyzer/concurrency/lockOps');
  assert.deepEqual(describeLock('F:dict~2.lock'), { name: 'dict.lock', identity: 'the field lock of struct dict as defined a second way in the tree (every such lock is treated as one lock)' });
  assert.equal(describeLock('F:dict.lock').name, 'dict.lock');
});
