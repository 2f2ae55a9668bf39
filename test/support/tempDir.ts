import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';

const tempDirs: string[] = [];
after(() => { for (const d of tempDirs) rmSync(d, { recursive: true, force: true }); });

/** A temporary directory removed when the test file that made it finishes. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(prefix);
  tempDirs.push(d);
  return d;
}
