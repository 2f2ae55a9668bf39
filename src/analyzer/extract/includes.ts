import path from 'node:path';

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

/**
 * Resolves an include as the compiler would for quotes: next to the including file first, else by
 * path suffix anywhere among `files` (the -I directories are unknown). Shared by the include scan
 * and the linker (which resolves the quoted includes the facts record).
 */
export class IncludeResolver {
  private readonly byBase = new Map<string, string[]>();

  constructor(files: Iterable<string>) {
    for (const f of files) {
      const base = path.posix.basename(f);
      const list = this.byBase.get(base);
      if (list) list.push(f);
      else this.byBase.set(base, [f]);
    }
  }

  /** The files `inc`, included from `from`, may be (none when it is not in the tree). */
  resolve(from: string, inc: string): string[] {
    const candidates = this.byBase.get(path.posix.basename(inc));
    if (!candidates) return [];
    const relative = path.posix.normalize(path.posix.join(path.posix.dirname(from), inc));
    const exact = candidates.find((c) => c === relative);
    if (exact) return [exact];
    return candidates.filter((c) => c === inc || c.endsWith('/' + inc));
  }
}
