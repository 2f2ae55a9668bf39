import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
