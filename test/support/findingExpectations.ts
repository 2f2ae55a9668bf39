import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Finding } from '../../src/analyzer/concurrency/types';
import { findingSite } from '../../src/analyzer/concurrency/types';
import { shortName } from '../../src/analyzer/report/formats';

// `/* expect-finding: CLASS entry=FUNCTION [yielding] */` on the wait line (or, for
// gil-required-api, the call line); `/* expect-no-finding */` where none may be reported.

export interface ExpectedFinding { file: string; line: number; cls: string; entry: string; yielding: boolean; raw: string }

export function readFindingExpectations(root: string): { expected: ExpectedFinding[]; none: { file: string; line: number }[] } {
  const expected: ExpectedFinding[] = [];
  const none: { file: string; line: number }[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(root, r)).isDirectory()) { walk(r); continue; }
      if (!/\.[ch]$/.test(name)) continue;
      readFileSync(path.join(root, r), 'utf8').split('\n').forEach((text, i) => {
        for (const m of text.matchAll(/expect-finding:\s*([a-z-]+)\s+entry=([A-Za-z_]\w*)((?:\s+yielding)?)/g)) {
          expected.push({ file: r, line: i + 1, cls: m[1], entry: m[2], yielding: m[3].includes('yielding'), raw: `${r}:${i + 1}: ${m[0]}` });
        }
        if (/expect-no-finding/.test(text)) none.push({ file: r, line: i + 1 });
      });
    }
  };
  walk('');
  return { expected, none };
}

export function findingKey(f: Finding): { file: string; line: number; cls: string; entry: string; yielding: boolean } {
  const site = findingSite(f);
  return { file: site.file, line: site.line, cls: f.class, entry: shortName(f.entry.function), yielding: f.yielding };
}
