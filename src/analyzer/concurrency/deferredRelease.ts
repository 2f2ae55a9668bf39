import type { LinkedProgram } from '../link/linker';
import { callersOf } from '../link/reach';
import type { EntryKind } from '../profile/profile';
import { shortName } from '../report/formats';
import { describeLock, modesConflict } from './lockOps';
import type { LockOps } from './lockOps';
import type { LockContext } from './lockOrder';
import { entryOf } from './programLookups';
import type { LockSets } from './lockSets';
import { stableId } from './stableId';
import { pathFromAny } from './syncGraph';
import type { SyncGraph } from './syncGraph';
import type { Finding, LockMode, PathHop } from './types';

const MAX_ENTRIES_PER_SITE = 10;

/**
 * Locks released only on the main thread: a thread takes a lock (a background query's read
 * lock) and nothing that thread runs releases it; the release happens in a callback the main
 * thread runs later (a blocked client's reply or free callback, a timer, an event-loop job). If
 * the main thread itself blocks taking that lock, it never gets to the callback: a deadlock,
 * whatever else is held.
 */
export function deferredReleaseFindings(
  program: LinkedProgram, graph: SyncGraph, ops: LockOps, sets: LockSets, contexts: LockContext[], deferredKinds: readonly EntryKind[],
): Finding[] {
  const main = contexts.find((c) => c.root === null);
  const threads = contexts.filter((c) => c.root !== null);
  if (!main || !threads.length) return [];
  const deferred = new Set(deferredKinds);
  const releasesByKey = new Map<string, { fn: number; call: number }[]>();
  for (const r of sets.releaseSites) {
    if (r.key.startsWith('lock:') || r.key.startsWith('P:')) continue;
    const list = releasesByKey.get(r.key);
    if (list) list.push(r);
    else releasesByKey.set(r.key, [r]);
  }
  const out: Finding[] = [];
  for (const [key, releases] of releasesByKey) {
    const releaseFns = new Set(releases.map((r) => r.fn));
    // The release must run only in deferred main-thread callbacks.
    const deferredRelease = releases.map((r) => {
      if (threads.some((t) => t.reached[r.fn])) return null;
      const callback = [...callersOf(program, [r.fn])].map((f) => ({ f, e: program.functions[f].entry?.find((x) => deferred.has(x.kind)) })).find((x) => x.e);
      return callback ? { release: r, callback: callback.f, kind: callback.e!.kind, registeredAt: callback.e!.site } : null;
    }).find(Boolean);
    if (!deferredRelease) continue;
    // A thread that takes the lock and never releases it itself.
    let holder: { ctx: LockContext; fn: number; call: number; mode: LockMode } | null = null;
    for (const t of threads) {
      if ([...releaseFns].some((f) => t.reached[f])) continue;
      for (const fn of ops.functions) {
        if (!t.reached[fn]) continue;
        (ops.at[fn] ?? []).forEach((list, c) => {
          const o = list?.find((x) => x.key === key && x.op !== 'release');
          if (o && !holder) holder = { ctx: t, fn, call: c, mode: o.mode };
        });
        if (holder) break;
      }
      if (holder) break;
    }
    if (!holder) continue;
    const h: { ctx: LockContext; fn: number; call: number; mode: LockMode } = holder;
    // The holder's side of the evidence is the same for every main-thread acquisition.
    const toHolder = pathFromAny(program, graph, [h.ctx.root!], h.fn);
    const holderFn = program.functions[h.fn];
    const cb = program.functions[deferredRelease.callback];
    const relFn = program.functions[deferredRelease.release.fn];
    const relSite = program.facts[deferredRelease.release.fn]!.calls[deferredRelease.release.call].site;
    const hops = (path: number[]): PathHop[] => path.map((ei) => ({ ...program.edges[ei] }));
    // The main thread blocking on it (a try-lock gives up, so it is not a wait).
    for (const fn of ops.functions) {
      if (!main.reached[fn] || fn === deferredRelease.callback) continue;
      (ops.at[fn] ?? []).forEach((list, c) => {
        const o = list?.find((x) => x.key === key && x.op === 'acquire' && modesConflict(x.mode, h.mode));
        if (!o) return;
        const callSite = program.facts[fn]!.calls[c];
        const lock = describeLock(key);
        const callers = callersOf(program, [fn]);
        const starts = main.starts.filter((s) => callers.has(s) && s !== deferredRelease.callback).slice(0, MAX_ENTRIES_PER_SITE);
        for (const s of starts) {
          const p = pathFromAny(program, graph, [s], fn);
          if (!p) continue;
          const entry = entryOf(program, p.start, false);
          out.push({
            id: stableId(['deadlock-risk', 'deferred-release', key, program.functions[p.start].name, program.functions[fn].name, o.mode]),
            class: 'deadlock-risk',
            lock: lock.name,
            message: `${shortName(entry.function)} (${entry.kind}) blocks taking ${lock.name}${o.mode === 'exclusive' ? '' : ` for ${o.mode === 'write' ? 'writing' : 'reading'}`} in ${program.functions[fn].name}, but thread ${shortName(h.ctx.id)} holds it (taken in ${holderFn.name}) until ${relFn.id === cb.id ? `${shortName(cb.id)}, a ${deferredRelease.kind} callback that runs on the main thread, releases it` : `${shortName(relFn.id)} releases it, which runs only under ${shortName(cb.id)}, a ${deferredRelease.kind} callback on the main thread`} — and the main thread is the one now blocked. Lock identity: ${lock.identity}`,
            yielding: false,
            entry,
            path: hops(p.path),
            wait: {
              function: program.functions[fn].id, site: callSite.site, kind: 'lock',
              expression: `${callSite.text}(${callSite.argTexts[0] ?? ''})`, bounded: false, yielding: false,
              evidence: `${callSite.text} blocks until ${lock.name} is free; its holder's release is deferred to a main-thread ${deferredRelease.kind} callback`,
            },
            awaited: [{
              threadRoot: h.ctx.id,
              releaser: { function: relFn.id, site: relSite, action: `releases ${lock.name} in ${shortName(cb.id)} (${deferredRelease.kind} callback, main thread)` },
              pathToReleaser: toHolder ? hops(toHolder.path) : [],
              takesLock: null,
            }],
            sequencedAfter: [],
            deferredRelease: {
              lock: lock.name,
              identity: lock.identity,
              heldBy: { threadRoot: h.ctx.id, function: holderFn.id, site: program.facts[h.fn]!.calls[h.call].site, mode: h.mode, path: toHolder ? hops(toHolder.path) : [] },
              releasedIn: { function: cb.id, site: relSite, entryKind: deferredRelease.kind, registeredAt: deferredRelease.registeredAt },
            },
          });
        }
      });
    }
  }
  return out;
}
