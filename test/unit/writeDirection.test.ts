import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { sharedParser } from '../../src/analyzer/analyze';
import { extractBatch, macroTableOf } from '../../src/analyzer/extract/extractBatch';
import type { FileFacts, Stmt } from '../../src/analyzer/model';
import { analyzeProject } from '../../src/analyzer/project';
import { FIXTURES } from '../support/analyze';

// Which way a counter moves, and which way a drain's tested call result must move: together they
// keep a thread that only queues work (a producer) from being taken for one the drain waits on.

async function factsOf(source: string): Promise<FileFacts> {
  const parser = await sharedParser('wasm');
  const [result] = extractBatch([{ file: 'x.c', text: source }], parser, macroTableOf([]), null);
  assert.ok('facts' in result, 'extracted');
  return result.facts;
}

const loops = (stmts: readonly Stmt[]): Extract<Stmt, { s: 'loop' }>[] => stmts.flatMap((s) => (s.s === 'loop' ? [s, ...loops(s.body)] : s.s === 'if' ? [...loops(s.then), ...loops(s.else)] : []));

test('writes record which way a counter moves', async () => {
  const facts = await factsOf(`
    struct q { int len; int done; int flags; void *rear; };
    void f(struct q *q, int n) { q->len++; --q->len; q->len += n; q->done -= 2; q->flags |= 4; q->rear = 0; }
  `);
  const writes = facts.functions[0].writes.map((w) => [w.text, w.update ?? false, w.delta ?? 0]);
  assert.deepEqual(writes, [
    ['q->len', true, 1], ['q->len', true, -1], ['q->len', true, 1], ['q->done', true, -1], ['q->flags', true, 0], ['q->rear', false, 0],
  ]);
});

test('a loop that compares or tests a call result says which way the result must move', async () => {
  const cases: [string, string | undefined][] = [
    ['pending(q) > 0', 'falls'],
    ['0 < pending(q)', 'falls'],
    ['pending(q) >= limit', 'falls'],
    ['pending(q) != 0', 'falls'],
    ['pending(q)', 'falls'],
    ['(pending(q))', 'falls'],
    ['done(q) < total', 'rises'],
    ['!ready(q)', 'rises'],
    ['pending(q) == 0', undefined],
    ['pending(q) != expected', undefined],
    ['pending(q) > limit(q)', undefined],
    ['q->len > 0', undefined],
    ['pending(q) > 0 && running', undefined],
  ];
  const facts = await factsOf(`
    struct q { int len; };
    int pending(struct q *q); int done(struct q *q); int ready(struct q *q); int limit(struct q *q);
    void f(struct q *q, int total, int expected, int running) {
      ${cases.map(([cond]) => `while (${cond}) { }`).join('\n      ')}
    }
  `);
  const senses = loops(facts.functions[0].body).map((l) => l.callSense);
  assert.deepEqual(senses, cases.map(([, sense]) => sense));
});

test('a drain is not released by the thread that feeds its queue', async () => {
  // drain_feeder_stall_bad: pool threads bring the queue's counters down; feeder_thread, which
  // takes the GIL, only pushes jobs (waiting++, head = j). Before write directions it was listed
  // as an awaited thread and made the drain a deadlock-risk.
  const { findings } = await analyzeProject(path.join(FIXTURES, 'findings', 'drain_feeder_stall_bad'), { workers: 0 });
  assert.deepEqual(findings.map((f) => [f.class, f.yielding]), [['stall', true]]);
  assert.deepEqual(findings[0].awaited.map((a) => [a.threadRoot, a.releaser.action]), [['pool_thread@drain.c', 'writes q->waiting']]);
  // The getter-inspected drain whose jobs take the GIL keeps its deadlock-risk, released by the
  // counters that fall.
  const risk = await analyzeProject(path.join(FIXTURES, 'findings', 'drain_via_getter_bad'), { workers: 0 });
  assert.deepEqual(risk.findings.map((f) => f.class), ['deadlock-risk']);
  assert.ok(risk.findings[0].awaited.every((a) => a.threadRoot === 'pool_thread@drain.c'), 'only the pool thread is awaited');
});
