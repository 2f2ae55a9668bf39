import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLanes } from '../../src/shared/lanes';
import type { LaneFinding, LaneModel } from '../../src/shared/lanes';
import type { Edge } from '../../src/analyzer/graph';

// Hand-built findings in the analyzer's JSON shape: the MOD-11658 deadlock risk, and a lock-order
// cycle as the `lock-order` class reports it (`threads`); and one lock-order finding from a real analysis.
const site = (file: string, line: number) => ({ file, line, col: 3 });
const hop = (from: string, to: string, line: number, extra: Partial<Edge> & { lockState?: 'held' | 'may-be-held' | 'not-held' } = {}) => ({ from, to, kind: 'direct' as const, site: site('x.c', line), ...extra });

const deadlock: LaneFinding = {
  id: 'd1', class: 'deadlock-risk', lock: 'GIL', message: '…',
  entry: { function: 'set_workers@config.c', kind: 'config-set', api: 'RedisModule_RegisterNumericConfig', site: site('config.c', 177), name: '"search-workers"' },
  path: [
    hop('set_workers@config.c', 'workers_set_num_threads', 160, { lockState: 'held' }),
    hop('workers_set_num_threads', 'thpool_remove_threads', 17, { lockState: 'held' }),
    hop('thpool_remove_threads', 'thpool_broadcast_new_state@thpool.c', 177, { lockState: 'held' }),
    hop('thpool_broadcast_new_state@thpool.c', 'barrier_wait_and_destroy', 170, { lockState: 'held' }),
  ],
  wait: { function: 'barrier_wait_and_destroy', site: site('barrier.c', 21), kind: 'spin', expression: 'while (barrier->received < barrier->count)', bounded: false, yielding: false, evidence: '' },
  awaited: [{
    threadRoot: 'thread_loop@thpool.c',
    releaser: { function: 'barrier_wait', site: site('barrier.c', 15), action: 'writes b->received' },
    pathToReleaser: [
      hop('thread_loop@thpool.c', 'admin_job_change_state@thpool.c', 88, { kind: 'indirect', via: 'job_p->function' }),
      hop('admin_job_change_state@thpool.c', 'barrier_wait', 80),
    ],
    takesLock: { function: 'search_job@search.c', site: site('search.c', 59), path: [hop('thread_loop@thpool.c', 'search_job@search.c', 88, { kind: 'indirect', via: 'job_p->function' })] },
  }],
  sequencedAfter: [{
    function: 'set_workers@config.c', site: site('x.c', 161), text: 'RSGlobalConfigTriggers[externalTriggerId]', macro: 'COORDINATOR_TRIGGER',
    reaches: ['triggerConnPerShard@coord_config.c', 'MR_UpdateConnPoolSize', 'uvUpdateConnPoolSize@rmr.c', 'IORuntimeCtx_UpdateConnPoolSize', 'conn_pool_shrink', 'queue_pop'],
  }],
};

// The graph around the sequenced call: the trigger through the IO-thread hand-off to the shrink.
const edges: Edge[] = [
  { ...hop('set_workers@config.c', 'triggerConnPerShard@coord_config.c', 161), kind: 'indirect', macro: 'COORDINATOR_TRIGGER', via: 'RSGlobalConfigTriggers[externalTriggerId]' },
  hop('set_workers@config.c', 'workers_set_num_threads', 160),
  hop('triggerConnPerShard@coord_config.c', 'MR_UpdateConnPoolSize', 40),
  { ...hop('MR_UpdateConnPoolSize', 'uvUpdateConnPoolSize@rmr.c', 50), kind: 'handoff', via: 'IORuntimeCtx_Schedule', threadRoot: 'io_thread_main@io_runtime.c' },
  hop('uvUpdateConnPoolSize@rmr.c', 'IORuntimeCtx_UpdateConnPoolSize', 60),
  hop('IORuntimeCtx_UpdateConnPoolSize', 'conn_pool_shrink', 70),
];

const byFn = (m: LaneModel, lane: number, fn: string) => m.lanes[lane].nodes.filter((n) => n.function === fn);
const one = (m: LaneModel, lane: number, fn: string) => {
  const found = byFn(m, lane, fn);
  assert.equal(found.length, 1, `${fn} once in lane ${lane}`);
  return found[0];
};

test('deadlock risk: the holder lane runs from the entry to the wait under the lock, then one lane per awaited thread, then what never runs', () => {
  const m = buildLanes(deadlock, { edges });
  assert.equal(m.title, 'deadlock-risk: set_workers → barrier_wait_and_destroy');
  assert.deepEqual(m.lanes.map((l) => [l.role, l.context]), [['holder', 'entries'], ['awaited', 'thread_loop@thpool.c'], ['after', 'entries']]);
  assert.equal(m.lanes[2].title, 'set_workers after the wait returns: never reached while it blocks');
  const holder = m.lanes[0];
  assert.match(holder.title, /main thread: set_workers \(config-set "search-workers"\)/);
  const row0 = holder.nodes.filter((n) => n.row === 0).sort((a, b) => a.col - b.col).map((n) => n.label);
  assert.deepEqual(row0, ['set_workers', 'workers_set_num_threads', 'thpool_remove_threads', 'thpool_broadcast_new_state', 'barrier_wait_and_destroy']);
  assert.deepEqual(holder.lockSpans, [{ lock: 'GIL', from: 0, to: 4, state: 'held' }]);
  const wait = one(m, 0, 'barrier_wait_and_destroy');
  assert.deepEqual(wait.marks, ['wait']);
  assert.match(wait.note!, /unbounded spin: while \(barrier->received < barrier->count\)/);
  assert.deepEqual(wait.site, site('barrier.c', 21));
  assert.ok(holder.links.filter((l) => !l.never).every((l) => l.lockState === 'held'));

  const awaited = m.lanes[1];
  assert.equal(awaited.title, 'thread thread_loop');
  const releaser = one(m, 1, 'barrier_wait');
  assert.ok(releaser.marks.includes('releaser'));
  assert.equal(releaser.row, 0);
  const taker = one(m, 1, 'search_job@search.c');
  assert.deepEqual([taker.row, taker.col, taker.marks], [1, 1, ['takes-lock']]);
  // Both paths start at the one thread root; the lock-taking branch leaves it on its own row.
  assert.equal(byFn(m, 1, 'thread_loop@thpool.c').length, 1);
  assert.ok(awaited.links.some((l) => l.from === one(m, 1, 'thread_loop@thpool.c').key && l.to === taker.key && l.kind === 'indirect' && l.label === 'job_p->function'));
  assert.deepEqual(m.cross.map((c) => [c.label, c.kind]), [['waits for', 'waits'], ['needs GIL, held by set_workers', 'waits'], ['after the wait', 'sequenced']]);
  assert.equal(m.cross[0].from, wait.key);
  assert.equal(m.cross[0].to, releaser.key);
});

test('deadlock risk: calls sequenced after the wait and what they reach are greyed in their own lane, right of their caller, as the tree the edges form', () => {
  const m = buildLanes(deadlock, { edges });
  const after = m.lanes[2];
  assert.ok(after.nodes.every((n) => n.never));
  assert.equal(m.lanes[0].nodes.filter((n) => n.never).length, 0, 'the holder lane is the path only');
  const never = after.nodes;
  const call = never.find((n) => n.key.endsWith(':call'))!;
  assert.equal(call.label, 'COORDINATOR_TRIGGER');
  assert.deepEqual([call.col, call.row], [1, 0], 'right of set_workers, which makes the call');
  assert.deepEqual(m.cross.find((c) => c.kind === 'sequenced'), { from: one(m, 0, 'set_workers@config.c').key, to: call.key, label: 'after the wait', kind: 'sequenced' });
  const col = (fn: string) => never.find((n) => n.function === fn)!.col;
  assert.deepEqual(['triggerConnPerShard@coord_config.c', 'MR_UpdateConnPoolSize', 'uvUpdateConnPoolSize@rmr.c', 'IORuntimeCtx_UpdateConnPoolSize', 'conn_pool_shrink'].map(col), [2, 3, 4, 5, 6]);
  // queue_pop is reached but no edge given connects it: listed after the tree.
  assert.equal(col('queue_pop'), 7);
  assert.equal(never.length, 7);
  const links = after.links;
  assert.ok(links.length >= 5 && links.every((l) => l.never));
  const handoff = links.find((l) => l.kind === 'handoff')!;
  assert.equal(handoff.label, '⇢ thread io_thread_main');
  // Past the hand-off the calls run on the IO thread: the nodes say so, those before do not.
  const ctx = (fn: string) => never.find((n) => n.function === fn)!.context;
  assert.deepEqual(['MR_UpdateConnPoolSize', 'uvUpdateConnPoolSize@rmr.c', 'IORuntimeCtx_UpdateConnPoolSize', 'conn_pool_shrink'].map(ctx), [undefined, 'io_thread_main@io_runtime.c', 'io_thread_main@io_runtime.c', 'io_thread_main@io_runtime.c']);
  assert.equal(m.lanes[0].nodes.length, 5, 'the path itself is not greyed');
});

test('without edges the reached functions are still all greyed, and a limit cuts them with a count', () => {
  const m = buildLanes(deadlock, { maxNever: 3 });
  const never = m.lanes[2].nodes.filter((n) => n.never && !n.key.endsWith(':call'));
  assert.deepEqual(never.map((n) => n.function), deadlock.sequencedAfter![0].reaches.slice(0, 3));
  assert.match(m.lanes[2].nodes.find((n) => n.key.endsWith(':call'))!.note!, /\+3 more not shown/);
});

test('an awaited thread that never takes the lock says so and has no lock branch', () => {
  const m = buildLanes({ ...deadlock, class: 'stall', awaited: [{ ...deadlock.awaited![0], takesLock: null }] });
  assert.equal(m.lanes[1].note, 'never takes GIL');
  assert.equal(m.lanes[1].nodes.filter((n) => n.row > 0).length, 0);
  assert.deepEqual(m.cross.map((c) => c.label), ['waits for', 'after the wait']);
});

test('an awaited thread whose lock-taking job belongs to another pool carries the caveat in its lane note', () => {
  const a = deadlock.awaited![0];
  const m = buildLanes({ ...deadlock, awaited: [{ ...a, takesLock: { ...a.takesLock!, poolCaveat: { job: 'search_job@search.c', pools: ['search_pool'], waitedPools: ['admin_pool'] } } }] });
  assert.equal(m.lanes[1].note, 'only through search_job (queued to search_pool); no job of admin_pool takes GIL: a stall if its threads never run it');
  assert.equal(buildLanes(deadlock).lanes[1].note, undefined);
});

test('a stall whose awaited thread takes the lock only in other pools\' jobs says so in its lane note', () => {
  const a = deadlock.awaited![0];
  const m = buildLanes({ ...deadlock, class: 'stall', awaited: [{ ...a, takesLock: null, lockInOtherPools: { job: 'search_job@search.c', pools: ['search_pool'], waitedPools: ['admin_pool'], function: a.takesLock!.function, site: a.takesLock!.site, path: a.takesLock!.path, waitedPoolReaches: ['p in pool_submit'] } }] });
  assert.equal(m.lanes[1].note, 'never takes GIL here: search_job, which does, is queued to search_pool, not admin_pool');
  assert.equal(m.lanes[1].nodes.filter((n) => n.row > 0).length, 0);
});

test('Redis\' main thread as an awaited thread: its own lane, marked as the entry point, waiting for the lock lane 1 holds', () => {
  const a = deadlock.awaited![0];
  const m = buildLanes({ ...deadlock, awaited: [{ ...a, threadRoot: 'drop_command@m.c', mainThread: true, pathToReleaser: [], releaser: { ...a.releaser, function: 'drop_command@m.c' }, takesLock: { function: 'drop_command@m.c', site: a.releaser.site, path: [] } }] });
  const lane = m.lanes[1];
  assert.equal(lane.title, 'Redis main thread');
  assert.equal(lane.note, 'runs drop_command only holding GIL');
  assert.ok(lane.nodes[0].marks.includes('entry') && lane.nodes[0].marks.includes('releaser'));
  assert.ok(m.cross.some((c) => c.from === lane.nodes[0].key && c.label.startsWith('needs GIL')));
});

test('lock-order: one lane per thread trace, marking where each lock is held and acquired, each waiting on the other', () => {
  const entry = (fn: string, kind: 'command' | 'thread-root') => ({ function: fn, kind, api: kind === 'command' ? 'RedisModule_CreateCommand' : 'pthread_create', site: site('m.c', 1) });
  const f: LaneFinding = {
    id: 'lo1', class: 'lock-order', lock: 'GIL', message: '…', entry: entry('cmd', 'command'), path: [],
    threads: [
      { context: 'entries', entry: entry('cmd', 'command'), path: [hop('cmd', 'spec_lock', 10), hop('spec_lock', 'pthread_rwlock_wrlock', 11)],
        holds: { lock: 'GIL', mode: 'exclusive', function: 'cmd', site: site('m.c', 9) }, acquires: { lock: 'spec', mode: 'write', function: 'spec_lock', site: site('m.c', 11) } },
      { context: 'gc_thread', entry: entry('gc_thread', 'thread-root'), path: [hop('gc_thread', 'gc_step', 20, { kind: 'indirect', via: 'job->fn' }), hop('gc_step', 'RedisModule_ThreadSafeContextLock', 22)],
        holds: { lock: 'spec', mode: 'read', function: 'gc_step', site: site('m.c', 21) }, acquires: { lock: 'GIL', mode: 'exclusive', function: 'RedisModule_ThreadSafeContextLock', site: site('m.c', 22) } },
    ],
  };
  const m = buildLanes(f);
  assert.equal(m.title, 'lock-order: cmd ⟷ gc_thread');
  assert.deepEqual(m.lanes.map((l) => [l.role, l.context, l.title]), [['thread', 'entries', 'main thread: cmd (command)'], ['thread', 'gc_thread', 'thread gc_thread']]);
  const cmd = one(m, 0, 'cmd');
  assert.deepEqual(cmd.marks, ['entry', 'holds']);
  assert.match(cmd.note!, /holds GIL \(exclusive\)/);
  assert.match(one(m, 0, 'spec_lock').note!, /takes spec \(write\)/);
  const gc = one(m, 1, 'gc_step');
  assert.deepEqual(gc.marks, ['holds']);
  assert.deepEqual(gc.site, site('m.c', 21));
  assert.deepEqual(m.lanes[1].lockSpans, [{ lock: 'spec', from: 1, to: 2, state: 'held' }]);
  assert.deepEqual(m.lanes[0].lockSpans, [{ lock: 'GIL', from: 0, to: 1, state: 'held' }]);
  const take = one(m, 1, 'RedisModule_ThreadSafeContextLock');
  assert.deepEqual(m.cross, [
    { from: one(m, 0, 'spec_lock').key, to: gc.key, label: 'waits for spec', kind: 'waits' },
    { from: take.key, to: cmd.key, label: 'waits for GIL', kind: 'waits' },
  ]);
});

test('thread contexts: the server\'s contexts when given, else derived from entries, thread roots and hand-offs', async () => {
  const { functionContexts, contextSlots } = await import('../../src/shared/threadContexts');
  const fn = (id: string, extra: object = {}) => ({ id, name: id.split('@')[0], static: false, defined: true, ...extra });
  const functions = [
    fn('set_workers@config.c', { entry: [{ kind: 'config-set', api: 'RedisModule_RegisterNumericConfig', site: site('config.c', 1) }] }),
    fn('triggerConnPerShard@coord_config.c'), fn('MR_UpdateConnPoolSize'), fn('uvUpdateConnPoolSize@rmr.c'), fn('IORuntimeCtx_UpdateConnPoolSize'), fn('conn_pool_shrink'),
    fn('io_thread_main@io_runtime.c', { threadRoot: [{ api: 'uv_thread_create', site: site('io_runtime.c', 5) }] }),
  ];
  const derived = functionContexts(functions, edges.filter((e) => e.to !== 'workers_set_num_threads'));
  assert.deepEqual(derived.get('MR_UpdateConnPoolSize'), ['entries']);
  assert.deepEqual(derived.get('uvUpdateConnPoolSize@rmr.c'), ['io_thread_main@io_runtime.c'], 'the hand-off changes thread');
  assert.deepEqual(derived.get('conn_pool_shrink'), ['io_thread_main@io_runtime.c']);
  assert.deepEqual(derived.get('io_thread_main@io_runtime.c'), ['io_thread_main@io_runtime.c']);
  const given = functionContexts(functions, [], { conn_pool_shrink: [{ context: 'io_thread_main@io_runtime.c', lock: 'GIL', state: 'not-held' }, { context: 'entries', lock: 'GIL', state: 'held' }] });
  assert.deepEqual(given.get('conn_pool_shrink'), ['entries', 'io_thread_main@io_runtime.c'], 'main thread first');
  assert.equal(given.get('MR_UpdateConnPoolSize'), undefined, 'the server says it runs in no context');
  const slots = contextSlots([['entries', 'b_thread'], ['a_thread']]);
  assert.deepEqual([...slots], [['entries', 0], ['a_thread', 1], ['b_thread', 2]]);
});

test('a try-lock retried until it succeeds is marked as spinning; a thread that only tries the lock says so', () => {
  const a = deadlock.awaited![0];
  const spinning = buildLanes({ ...deadlock, awaited: [{ ...a, takesLock: { ...a.takesLock!, tryLock: { loop: a.takesLock!.site, why: 'retried until it succeeds: nothing bounds the loop' } } }] });
  const taker = spinning.lanes[1].nodes.find((n) => n.marks.includes('takes-lock'))!;
  assert.equal(taker.note, 'spins on a try-lock of GIL first');
  const trying = buildLanes({ ...deadlock, class: 'stall', awaited: [{ ...a, takesLock: null, triesLock: { function: a.takesLock!.function, site: a.takesLock!.site, path: a.takesLock!.path, why: 'retried until a deadline: the loop condition reads a clock' } }] });
  assert.equal(trying.lanes[1].note, `never blocks on GIL: only tries it in ${a.takesLock!.function.split('@')[0]} (retried until a deadline: the loop condition reads a clock)`);
});
