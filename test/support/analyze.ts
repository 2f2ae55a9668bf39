import path from 'node:path';
import { analyzeTree } from '../../src/analyzer/analyze';
import type { Analysis, AnalyzeOptions } from '../../src/analyzer/analyze';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const REPO = path.join(__dirname, '..', '..');

const cache = new Map<string, Promise<Analysis>>();

/** Analyses a fixture directory once per options per test process. */
export function analyzeFixture(dir: string, options: AnalyzeOptions = {}): Promise<Analysis> {
  const key = `${dir}|${JSON.stringify(options)}`;
  let p = cache.get(key);
  if (!p) cache.set(key, (p = analyzeTree(path.join(FIXTURES, dir), { workers: 0, ...options })));
  return p;
}
