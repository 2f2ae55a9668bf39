import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedParser } from '../../src/analyzer/analyze';
import { extractBatch, macroTableOf } from '../../src/analyzer/extract/extractBatch';
import type { FileFacts, Stmt } from '../../src/analyzer/model';

// Branches guarded by one local that keeps its value (`if (should_lock) lock(); … if (should_lock)
// unlock();`) are taken together by the lock-state walk. These tests pin down what the extractor
// calls a guard and which locals keep their value; fixtures guarded_lock_ok/_bad show the effect.

async function factsOf(source: string): Promise<FileFacts> {
  const parser = await sharedParser('wasm');
  const [result] = extractBatch([{ file: 'g.c', text: source }], parser, macroTableOf([]), null);
  assert.ok('facts' in result, 'extracted');
  return result.facts;
}

const ifs = (stmts: readonly Stmt[]): Extract<Stmt, { s: 'if' }>[] => stmts.flatMap((s) => (s.s === 'if' ? [s, ...ifs(s.then), ...ifs(s.else)] : s.s === 'loop' ? ifs(s.body) : []));

test('an if that only tests a local records it as its guard', async () => {
  const facts = await factsOf(`
    void f(int a, void *p, int g) {
      if (a) {} if (!a) {} if ((a)) {} if (p != NULL) {} if (p == 0) {} if (NULL != p) {}
      if (a > 1) {} if (a && p) {} if (g_flag) {} if (!!a) {}
      if ((p = get())) {} if ((p = get()) == NULL) {}
    }
  `);
  const guards = ifs(facts.functions[0].body).map((s) => (s.guard ? `${s.guard.when ? '' : '!'}${s.guard.name}` : '-'));
  // g_flag is not a local: a global guard (see the field-path test below).
  assert.deepEqual(guards, ['a', '!a', 'a', 'p', '!p', 'p', '-', '-', 'g_flag', 'a', 'p', '!p']);
});

test('only locals that keep one value through the call can guard', async () => {
  const facts = await factsOf(`
    void f(int param, int changed_param) {
      int once = param > 0;
      int assigned = 1;
      int later;
      int bumped = 0;
      int addressed = 1;
      int twice = 1;
      changed_param = 0;
      later = 2;
      assigned = 0;
      bumped++;
      g(&addressed);
      { int twice = 2; if (twice) {} }
      for (int i = 0; i < 3; i++) { int in_loop = i; if (in_loop) {} if (in_loop) {} }
      if (param) {} if (changed_param) {} if (once) {} if (assigned) {} if (later) {} if (bumped) {} if (addressed) {} if (twice) {}
    }
  `);
  assert.deepEqual(facts.functions[0].guardLocals, ['once', 'param']);
});

test('an if that tests a global or a field path records it with its root and fields; a path through a local that changes cannot guard', async () => {
  const facts = await factsOf(`
    struct s { int on; struct { int on; } inner; struct s *mod; int (*f)(int); };
    struct s g_state;
    void *g_lock;
    void f(struct s *p, struct s *q) {
      if (p->on) {} if (!p->inner.on) {} if (g_state.mod->on == 0) {} if (q->on) {} if (g_lock) {}
      q = 0;
      if (p[0].on) {} if (p->f(1)) {} if (p->a.b.c.d.e) {}
      if (p->on) {} if (p->inner.on) {} if (g_state.mod->on) {} if (q->on) {} if (!g_lock) {} if (p->mod->on) {}
    }
  `);
  const fn = facts.functions[0];
  const guards = ifs(fn.body).map((s) => (s.guard ? `${s.guard.when ? '' : '!'}${s.guard.name}` : '-'));
  assert.deepEqual(guards, ['p.on', '!p.inner.on', '!g_state.mod.on', 'q.on', 'g_lock', '-', '-', '-', 'p.on', 'p.inner.on', 'g_state.mod.on', 'q.on', '!g_lock', 'p.mod.on']);
  // q is assigned: its paths may read another object at each test; p->mod->on is tested once.
  assert.deepEqual(fn.guardPaths, [
    { name: 'g_lock', root: 'g_lock', fields: [] },
    { name: 'g_state.mod.on', root: 'g_state', fields: ['mod', 'on'] },
    { name: 'p.inner.on', root: 'p', fields: ['inner', 'on'] },
    { name: 'p.on', root: 'p', fields: ['on'] },
  ]);
});

test('a static local tested as a guard has its global key as root, where its writes are recorded', async () => {
  const facts = await factsOf(`
    void f(void) {
      static int on = 1;
      if (on) {}
      on = 0;
      if (on) {}
    }
  `);
  assert.deepEqual(facts.functions[0].guardPaths, [{ name: 'on', root: 'f::on', fields: [] }]);
  assert.ok(facts.functions[0].writes.some((w) => w.loc.k === 'global' && w.loc.name === 'f::on'));
});
