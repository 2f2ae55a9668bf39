import type { Stmt } from '../model';

type Target = { call: number } | { loop: Stmt };

function isTarget(st: Stmt, t: Target): boolean {
  return 'call' in t ? st.s === 'call' && st.call === t.call : st === t.loop;
}

/** Every call in `stmts`, at any depth, in order. */
export function allCalls(stmts: readonly Stmt[], out: number[]): void {
  for (const st of stmts) {
    switch (st.s) {
      case 'call': out.push(st.call); break;
      case 'if': allCalls(st.cond, out); allCalls(st.then, out); allCalls(st.else, out); break;
      case 'loop': allCalls(st.cond, out); allCalls(st.body, out); break;
      case 'switch': allCalls(st.cond, out); for (const c of st.cases) allCalls(c, out); break;
      case 'return': allCalls(st.value, out); break;
      default: break;
    }
  }
}

/**
 * Calls that run after `target` on the same path through the body: the rest of its block and of
 * every enclosing block, but not the other arm of an enclosing `if` (they exclude each other).
 * Returns null when the target is not in the body.
 */
export function callsSequencedAfter(body: readonly Stmt[], target: Target): number[] | null {
  const search = (stmts: readonly Stmt[]): number[] | null => {
    for (let i = 0; i < stmts.length; i++) {
      const st = stmts[i];
      let inner: number[] | null = null;
      if (isTarget(st, target)) inner = [];
      else if (st.s === 'if') inner = search(st.cond) ?? search(st.then) ?? search(st.else);
      else if (st.s === 'loop') inner = search(st.cond) ?? search(st.body);
      else if (st.s === 'switch') {
        inner = search(st.cond);
        for (let c = 0; !inner && c < st.cases.length; c++) {
          const found = search(st.cases[c]);
          if (found) {
            inner = found;
            // Fall-through: later cases may run after this one.
            for (const later of st.cases.slice(c + 1)) allCalls(later, inner);
          }
        }
      } else if (st.s === 'return') {
        const r = search(st.value);
        if (r) return r;
      }
      if (inner) {
        if (st.s === 'return') return inner;
        allCalls(stmts.slice(i + 1), inner);
        return inner;
      }
    }
    return null;
  };
  return search(body);
}
