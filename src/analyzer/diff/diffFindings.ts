import type { Finding } from '../concurrency/types';

/** Findings new in `after` and fixed since `before`, matched by their line-independent ids. */
export function diffFindings(before: readonly Finding[], after: readonly Finding[]): { added: Finding[]; removed: Finding[]; unchanged: Finding[] } {
  const beforeIds = new Set(before.map((f) => f.id));
  const afterIds = new Set(after.map((f) => f.id));
  return {
    added: after.filter((f) => !beforeIds.has(f.id)),
    removed: before.filter((f) => !afterIds.has(f.id)),
    unchanged: after.filter((f) => beforeIds.has(f.id)),
  };
}
