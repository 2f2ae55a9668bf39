import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeTree } from '../../src/analyzer/analyze';
import { PoolInstances } from '../../src/analyzer/concurrency/poolInstances';
import { analyzeProject } from '../../src/analyzer/project';
import { FIXTURES } from '../support/analyze';

// Malformed C must never crash the analysis (a hang would hit the test's timeout): every fixture
// file, cut, spliced and with its lines shuffled, is analysed as one tree.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lockpath-robust-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.[ch]$/.test(name)) out.push(p);
  }
  return out;
}

/** A small deterministic generator, so a failure can be reproduced. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 0x100000000;
  };
}

test('truncated, spliced and shuffled C is analysed without crashing', { timeout: 120_000 }, async () => {
  const rand = prng(20261123);
  const files = sources(FIXTURES).filter((f) => !f.includes('bad_input'));
  let n = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const dir = path.join(tmp, `case${n}`);
    mkdirSync(dir, { recursive: true });
    // Cut at a random point (unclosed braces, comments, strings, macro continuations).
    writeFileSync(path.join(dir, `cut${n}.c`), text.slice(0, Math.floor(rand() * text.length)));
    // Splice two random halves together.
    const a = Math.floor(rand() * text.length);
    const b = Math.floor(rand() * text.length);
    writeFileSync(path.join(dir, `splice${n}.h`), text.slice(0, Math.min(a, b)) + text.slice(Math.max(a, b)) + text.slice(a));
    // Shuffle lines (definitions out of order, #endif before #if, stray braces).
    const lines = text.split('\n');
    for (let i = lines.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [lines[i], lines[j]] = [lines[j], lines[i]];
    }
    writeFileSync(path.join(dir, `shuffle${n}.c`), lines.join('\n'));
    n++;
  }
  const result = await analyzeProject(tmp, { workers: 0 });
  assert.ok(result.analysis.graph.stats.filesParsed >= n * 3 - 1, `parsed ${result.analysis.graph.stats.filesParsed} of ${n * 3}`);
  assert.ok(result.analysis.graph.skipped.every((s) => s.reason !== 'parse-failed'), JSON.stringify(result.analysis.graph.skipped.filter((s) => s.reason === 'parse-failed').slice(0, 3)));
});

test('pool lookups through deep, recursive and widely called submission wrappers terminate', { timeout: 60_000 }, async () => {
  // A job pointer and a pool parameter passed down a recursive wrapper and up through 300 callers,
  // each of which passes its own parameter on: the pool search is memoised and depth-limited.
  const dir = path.join(tmp, 'pools');
  mkdirSync(dir, { recursive: true });
  const callers = Array.from({ length: 300 }, (_, i) => `void caller${i}(pool *p) { submit_rec(p, job, 3); caller${(i + 1) % 300}(p); }`).join('\n');
  writeFileSync(path.join(dir, 'pools.c'), `#include <pthread.h>
typedef struct pool pool;
typedef void (*job_fn)(void *);
struct pool { job_fn fn; pthread_mutex_t mu; pthread_cond_t cv; int idle; };
static pool *main_pool;
static void *worker(void *arg) { pool *p = arg; for (;;) { p->fn(0); p->idle++; } return 0; }
void push(pool *p, job_fn fn) { p->fn = fn; }
void submit_rec(pool *p, job_fn fn, int depth) { if (depth) submit_rec(p, fn, depth - 1); else push(p, fn); }
static void job(void *arg) {}
${callers}
void start(void) { pthread_t t; pthread_create(&t, 0, worker, main_pool); caller0(main_pool); }
`);
  const { findings } = await analyzeProject(dir, { workers: 0 });
  assert.ok(Array.isArray(findings));
  const { program } = await analyzeTree(dir, { workers: 0 });
  const pools = new PoolInstances(program);
  const job = program.functions.findIndex((f) => f.name === 'job');
  assert.ok(pools.isJob(job), 'job is handed to the worker');
  // caller0 gets main_pool from start(); the others only from each other, around the ring.
  assert.deepEqual([...pools.jobPools(job)], ['G:pools.c:main_pool']);
});
