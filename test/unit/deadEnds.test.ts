import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeTree, sharedParser } from '../../src/analyzer/analyze';
import { extractBatch, macroTableOf } from '../../src/analyzer/extract/extractBatch';
import type { FileFacts, Stmt } from '../../src/analyzer/model';
import { computeDeadEnds } from '../../src/analyzer/concurrency/deadEnds';
import { redisModuleProfile } from '../../src/analyzer/profile/redisModule';
import { parseModelFile } from '../../src/analyzer/modelFile/modelFile';
import { analyzeProject } from '../../src/analyzer/project';
import { tempDir } from '../support/tempDir';

// Calls on the way to a process exit (a crash report) are not followed by the concurrency
// analysis (deadEnds.ts). Fixtures exit_path_ok/_bad show the effect on findings; these tests pin
// down the branch structure it relies on and which calls count as dead ends.

async function factsOf(source: string): Promise<FileFacts> {
  const parser = await sharedParser('wasm');
  const [result] = extractBatch([{ file: 'd.c', text: source }], parser, macroTableOf([]), null);
  assert.ok('facts' in result, 'extracted');
  return result.facts;
}

/** The body as nested call names: `if(cond|then|else)`. */
function shape(facts: FileFacts, fn: string): string {
  const f = facts.functions.find((x) => x.name === fn)!;
  const name = (c: number) => { const callee = f.calls[c].callee; return callee.k === 'name' ? callee.name : '?'; };
  const show = (stmts: readonly Stmt[]): string => stmts.map((st) => {
    switch (st.s) {
      case 'call': return name(st.call);
      case 'if': return `if(${show(st.cond)}|${show(st.then)}|${show(st.else)})`;
      case 'loop': return `loop(${show(st.cond)}|${show(st.body)})`;
      case 'return': return `return(${show(st.value)})`;
      default: return st.s;
    }
  }).join(' ');
  return show(f.body);
}

test('a conditional expression and && / || become branches, not a sequence', async () => {
  const facts = await factsOf(`
    int pick(int a) { return a ? left() : right(); }
    void both(int a) { a && first() || second(); }
    void assert_like(int e) { (e) ? (void)0 : (report(), abort()); }
    void commented(int a) { a /* first */ && first(); a || // else
      second(); a & third(); }
    void gnu(int a) { a ?: fallback(); }
  `);
  assert.equal(shape(facts, 'pick'), 'return(if(|left|right))');
  assert.equal(shape(facts, 'both'), 'if(|first|) if(|second|)');
  assert.equal(shape(facts, 'assert_like'), 'if(||report abort)');
  assert.equal(shape(facts, 'commented'), 'if(|first|) if(|second|) third');
  assert.equal(shape(facts, 'gnu'), 'if(||fallback)');
});

async function program(source: string, model?: string) {
  const dir = tempDir('lockpath-deadends-');
  writeFileSync(path.join(dir, 'd.c'), source);
  if (model) writeFileSync(path.join(dir, '.lockpath'), model);
  return dir;
}

test('dead ends: calls before an exit, and functions whose every path exits', async () => {
  const dir = await program(`
    #include <stdlib.h>
    #define CHECK(e) ((e) ? (void)0 : (report(), abort()))
    void report(void) { flush(); }
    void die(const char *m) { log_msg(m); report(); exit(1); }
    void die_via(const char *m) { die(m); }
    void maybe_die(int x) { if (x) abort(); log_msg("alive"); }
    void serve(void) { for (;;) { handle(); } }
    void shutdown_now(void) { join_all(); exit(0); }
    void bail(int code) { cleanup(); if (code) exit(EXIT_FAILURE); else exit(code); }
    void bail_hard(void) { cleanup(); _exit(2); }
    int cmd(int argc) {
      CHECK(argc > 1);
      if (argc > 5) die_via("too many");
      maybe_die(argc);
      report();
      serve();
      if (argc > 7) shutdown_now();
      if (argc > 8) bail(argc);
      if (argc > 9) bail_hard();
      return 0;
    }
  `);
  const a = await analyzeTree(dir, { workers: 0 });
  const p = a.program;
  const dead = computeDeadEnds(p, redisModuleProfile);
  // exit(0) or a computed status may be a normal shutdown (its joins still count); exit(1) is not.
  assert.deepEqual(dead.noReturnFunctions.map((f) => p.functions[f].name).sort(), ['bail_hard', 'die', 'die_via']);
  const cmd = p.idToIndex.get('cmd')!;
  const deadCalls = (fn: number) => (p.callEdges[fn] ?? []).map((edges, c) => [p.facts[fn]!.calls[c], edges] as const)
    .filter(([, edges]) => edges.some((ei) => dead.edges[ei])).map(([c]) => `${c.callee.k === 'name' ? c.callee.name : '?'}:${c.site.line}`);
  // CHECK's report() runs only when the assertion fails, right before abort(); die_via never returns.
  // maybe_die and serve return (or never finish without exiting): followed. The later report() is a normal call.
  assert.deepEqual(deadCalls(cmd), ['report:13', 'abort:13', 'die_via:14', 'bail_hard:20']);
  assert.deepEqual(deadCalls(p.idToIndex.get('bail')!), ['exit:10']);
  assert.deepEqual(deadCalls(p.idToIndex.get('die')!), ['log_msg:5', 'report:5', 'exit:5']);
});

test('the model file declares functions that never return', async () => {
  const model = parseModelFile('noreturn bug_report_end\nnoreturn\n', '.lockpath');
  assert.deepEqual(model.profile.noReturn, ['bug_report_end']);
  assert.deepEqual(model.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`), ['2:9: noreturn needs a function name']);
  // bug_report_end kills the process with a signal on one path: lockpath cannot tell, the model can.
  const source = `
    #include <pthread.h>
    #include <signal.h>
    #include <unistd.h>
    #include "redismodule.h"
    static pthread_t worker;
    static void *work(void *arg) { RedisModuleCtx *c = RedisModule_GetThreadSafeContext(NULL); RedisModule_ThreadSafeContextLock(c); RedisModule_ThreadSafeContextUnlock(c); return NULL; }
    void bug_report_end(int by_signal) { if (!by_signal) abort(); kill(getpid(), SIGSEGV); }
    static void panic_report(void) { pthread_join(worker, NULL); bug_report_end(1); }
    static int cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) { if (argc > 9) panic_report(); return 0; }
    int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
      pthread_create(&worker, NULL, work, NULL);
      return RedisModule_CreateCommand(ctx, "X.CMD", cmd, "", 0, 0, 0);
    }
  `;
  const header = 'typedef struct RedisModuleCtx RedisModuleCtx; typedef struct RedisModuleString RedisModuleString;\n'
    + 'extern RedisModuleCtx *(*RedisModule_GetThreadSafeContext)(void *bc); extern void (*RedisModule_ThreadSafeContextLock)(RedisModuleCtx *ctx);\n'
    + 'extern void (*RedisModule_ThreadSafeContextUnlock)(RedisModuleCtx *ctx); typedef int (*RedisModuleCmdFunc)(RedisModuleCtx *, RedisModuleString **, int);\n'
    + 'extern int (*RedisModule_CreateCommand)(RedisModuleCtx *ctx, const char *name, RedisModuleCmdFunc cmdfunc, const char *strflags, int firstkey, int lastkey, int keystep);\n';
  const without = await program(source);
  writeFileSync(path.join(without, 'redismodule.h'), header);
  const plain = await analyzeProject(without, { workers: 0 });
  assert.deepEqual(plain.findings.map((f) => `${f.class} ${f.entry.function}`), ['deadlock-risk cmd@d.c']);
  const withModel = await program(source, 'noreturn bug_report_end\n');
  writeFileSync(path.join(withModel, 'redismodule.h'), header);
  const modelled = await analyzeProject(withModel, { workers: 0 });
  assert.deepEqual(modelled.findings, []);
  assert.equal(modelled.summary.deadEnds.noReturnFunctions, 1);
});
