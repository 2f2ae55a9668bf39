import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
