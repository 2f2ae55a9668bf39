import { IncludeResolver } from '../includeResolver';

const INCLUDE = /^[ \t]*#[ \t]*include[ \t]*[<"]([^>"\n]+)[>"]/gm;

/**
 * Which headers of the tree each file can see through #include (transitively). Include paths
 * are resolved as the compiler would for quotes first (relative to the including file), then by
 * path suffix anywhere in the tree, since -I directories are unknown. Unresolvable includes
 * (system headers) are ignored.
 */
export function visibleHeadersByFile(files: readonly { file: string; text: string }[]): Map<string, Set<string>> {
  const resolver = new IncludeResolver(files.filter((f) => f.file.endsWith('.h')).map((f) => f.file));
  const direct = new Map<string, string[]>();
  for (const f of files) {
    const resolved: string[] = [];
    for (const m of f.text.matchAll(INCLUDE)) resolved.push(...resolver.resolve(f.file, m[1].trim()));
    direct.set(f.file, resolved);
  }
  const memo = new Map<string, Set<string>>();
  const closure = (file: string): Set<string> => {
    const cached = memo.get(file);
    if (cached) return cached;
    const seen = new Set<string>();
    memo.set(file, seen);
    const stack = [...(direct.get(file) ?? [])];
    while (stack.length) {
      const h = stack.pop()!;
      if (seen.has(h)) continue;
      seen.add(h);
      for (const next of direct.get(h) ?? []) if (!seen.has(next)) stack.push(next);
    }
    return seen;
  };
  const out = new Map<string, Set<string>>();
  for (const f of files) out.set(f.file, closure(f.file));
  return out;
}
