import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DIRECTIVES, checkModelNames, parseModelFile } from '../../src/analyzer/modelFile/modelFile';
import { REPO } from '../support/analyze';

test('a valid model file becomes profile facts and allow rules', () => {
  const m = parseModelFile([
    '# project facts',
    'entry my_timer_cb timer',
    'thread-root io_loop   # started by a library we do not analyse',
    'handoff submit_task arg=1',
    'lock INDEX acquire=index_wlock,index_rlock release=index_unlock try=index_trylock held-by-entries',
    'blocking flush_sync',
    'blocking flush_with_deadline bounded',
    'gil-safe RedisModule_MyThreadSafeThing',
    'allow stall entry=set_workers wait=thpool_wait reason="only called at start-up, before any job exists"',
  ].join('\n'), '.lockpath');
  assert.deepEqual(m.diagnostics, []);
  assert.deepEqual(m.profile.namedEntries, [{ name: 'my_timer_cb', kind: 'timer' }]);
  assert.deepEqual(m.profile.namedThreadRoots, ['io_loop']);
  assert.deepEqual(m.profile.threadCreators, [{ api: 'submit_task', startArg: 1 }]);
  assert.deepEqual(m.profile.locks?.[0], { lock: 'INDEX', acquire: ['index_wlock', 'index_rlock'], tryAcquire: ['index_trylock'], release: ['index_unlock'], heldByEntries: true });
  assert.deepEqual(m.profile.waits, [
    { api: 'flush_sync', kind: 'model', objectArg: 0, bounded: false },
    { api: 'flush_with_deadline', kind: 'model', objectArg: 0, bounded: true },
  ]);
  assert.deepEqual(m.profile.locks?.[1].requiredBy?.safe, ['RedisModule_MyThreadSafeThing']);
  assert.equal(m.allows.length, 1);
  assert.equal(m.allows[0].reason, 'only called at start-up, before any job exists');
  assert.deepEqual(m.allows[0].site, { file: '.lockpath', line: 9, col: 1 });
});

test('syntax errors carry line and column', () => {
  const m = parseModelFile([
    'entry',                                   // 1: missing name
    'enrty foo',                               // 2: unknown directive
    'handoff submit arg=x',                    // 3: bad arg
    'lock L acquire=a',                        // 4: missing release
    'allow stall entry=f',                     // 5: missing reason
    'allow deadlock-risk reason="x"',          // 6: matches everything
    'allow sometimes entry=f reason="x"',      // 7: bad class
    'blocking f sometimes',                    // 8: unknown flag
    'entry 9lives',                            // 9: not an identifier
    'allow stall entry=f reason="unterminated', // 10
    'lock L acquire=a release=b colour=red',   // 11: unknown option
  ].join('\n'), '.lockpath');
  const at = (line: number) => m.diagnostics.filter((d) => d.line === line);
  assert.match(at(1)[0].message, /entry needs a function name/);
  assert.deepEqual([at(2)[0].col, at(2)[0].message], [1, "unknown directive 'enrty' (expected entry, thread-root, handoff, lock, lock-op, channel, release-callback, blocking, gil-safe, noreturn, allow)"]);
  assert.match(at(3)[0].message, /arg=N/);
  assert.equal(at(3)[0].col, 20);
  assert.match(at(4)[0].message, /needs release=/);
  assert.match(at(5)[0].message, /needs reason=/);
  assert.match(at(6)[0].message, /at least one of entry=, wait= or call=/);
  assert.match(at(7)[0].message, /finding class/);
  assert.equal(at(7)[0].col, 7);
  assert.deepEqual([at(8)[0].col, at(8)[0].message], [12, "unknown flag 'sometimes' (expected bounded)"]);
  assert.match(at(9)[0].message, /'9lives' is not a C identifier/);
  assert.match(at(10)[0].message, /unterminated string/);
  assert.match(at(11)[0].message, /unknown option 'colour'/);
  assert.ok(m.diagnostics.every((d) => d.severity === 'error'));
});

test('lock operations, channels and release callbacks become profile facts', () => {
  const m = parseModelFile([
    'lock-op spin_acquire acquire',
    'lock-op spin_release release',
    'lock-op table_read_lock acquire arg=1 mode=read',
    'lock-op table_try_write try arg=1 mode=write',
    'channel send=bq_push,bq_push_all receive=bq_pop',
    'release-callback on_loop_tick',
  ].join('\n'), '.lockpath');
  assert.deepEqual(m.diagnostics, []);
  assert.deepEqual(m.profile.lockOps, [
    { api: 'spin_acquire', op: 'acquire', mode: 'exclusive', objectArg: 0 },
    { api: 'spin_release', op: 'release', mode: 'exclusive', objectArg: 0 },
    { api: 'table_read_lock', op: 'acquire', mode: 'read', objectArg: 1 },
    { api: 'table_try_write', op: 'try', mode: 'write', objectArg: 1 },
  ]);
  assert.deepEqual(m.profile.waits?.map((w) => [w.api, w.kind]), [['bq_push', 'channel-send'], ['bq_push_all', 'channel-send'], ['bq_pop', 'channel-receive']]);
  assert.deepEqual(m.profile.releases?.map((w) => [w.api, w.kind]), [['bq_push', 'channel-receive'], ['bq_push_all', 'channel-receive'], ['bq_pop', 'channel-send']]);
  assert.deepEqual(m.profile.namedEntries, [{ name: 'on_loop_tick', kind: 'deferred-callback' }]);
});

test('bad lock-op, channel and release-callback lines are errors with positions', () => {
  const m = parseModelFile([
    'lock-op spin_acquire grab',          // 1: unknown operation
    'lock-op spin_acquire acquire arg=-1', // 2: bad arg
    'lock-op t acquire mode=shared',      // 3: bad mode
    'channel send=push',                  // 4: no receive
    'release-callback',                   // 5: no name
  ].join('\n'), '.lockpath');
  const at = (line: number) => m.diagnostics.filter((d) => d.line === line);
  assert.deepEqual([at(1)[0].col, at(1)[0].message], [22, 'lock-op needs what the call does: acquire, try or release']);
  assert.match(at(2)[0].message, /arg=N/);
  assert.deepEqual([at(3)[0].col, at(3)[0].message], [24, "unknown mode 'shared' (expected read or write)"]);
  assert.match(at(4)[0].message, /channel needs send=FUNCTION and receive=FUNCTION/);
  assert.match(at(5)[0].message, /release-callback needs a function name/);
});

test('unknown function names are warnings with positions and suggestions', () => {
  const m = parseModelFile('entry set_worker\nthread-root io_loop\n', '.lockpath');
  const warnings = checkModelNames(m, new Set(['set_workers', 'io_loop']), (n) => (n === 'set_worker' ? " (did you mean 'set_workers'?)" : ''));
  assert.deepEqual(warnings, [{ line: 1, col: 7, severity: 'warning', message: "unknown function 'set_worker' (entry) (did you mean 'set_workers'?)" }]);
});

test('a binary file is rejected, not parsed', () => {
  const m = parseModelFile('entry a\u0000\u0001', 'x');
  assert.equal(m.diagnostics[0].message, 'this is not a text file');
});

test('the TextMate grammar knows every directive the parser accepts', () => {
  const grammar = JSON.parse(readFileSync(path.join(REPO, 'syntaxes', 'lockpath.tmLanguage.json'), 'utf8'));
  assert.equal(grammar.scopeName, 'source.lockpath');
  const directiveRule = new RegExp(grammar.repository.directive.begin);
  for (const d of DIRECTIVES) assert.ok(directiveRule.test(`${d} x`), `grammar matches directive ${d}`);
  assert.ok(!directiveRule.test('enrty x'));
});
