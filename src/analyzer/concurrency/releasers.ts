import type { Site } from '../graph';
import type { LinkedProgram } from '../link/linker';
import type { Loc } from '../model';
import type { Profile } from '../profile/profile';
import type { WaitFinder, WaitSite } from './waits';
import { allCalls } from './sequence';

// Who can release a wait: the writers of a spin-wait's state (and, when the condition hands an
// object to a call, of that object's fields), the signallers of a condition variable, semaphore
// or channel, and the creators of a joined thread.

export interface Release { fn: number; site: Site; action: string; update?: true; delta?: 1 | -1 }

export class Releasers {
  private readonly writers = new Map<string, Release[]>();
  private readonly signals = new Map<string, { kind: string; release: Release }[]>();
  private readonly threadStores = new Map<string, { root: number; release: Release }[]>();

  constructor(private readonly program: LinkedProgram, profile: Profile, waits: WaitFinder) {
    const releaseApis = new Map(profile.releases.map((r) => [r.api, r]));
    const creators = new Map(profile.threadCreators.map((t) => [t.api, t.startArg]));
    program.facts.forEach((facts, fn) => {
      if (!facts) return;
      for (const w of facts.writes) {
        const key = program.locationKey(w.loc, fn);
        if (key) push(this.writers, key, { fn, site: w.site, action: `writes ${w.text}`, ...(w.update ? { update: true as const } : {}), ...(w.delta ? { delta: w.delta } : {}) });
      }
      facts.calls.forEach((call, ci) => {
        if (call.callee.k !== 'name' || !releaseApis.has(call.callee.name) && !creators.has(call.callee.name)) return;
        for (const name of waits.calleeNames(fn, ci)) {
          const api = releaseApis.get(name);
          if (api) {
            for (const key of waits.objectKeys(call.args[api.objectArg] ?? [], fn)) {
              push(this.signals, key, { kind: api.kind, release: { fn, site: call.site, action: `${name}(${call.argTexts[0] ?? ''})` } });
            }
          }
          if (creators.has(name)) {
            const started = (program.callEdges[fn]?.[ci] ?? []).map((ei) => program.edges[ei]).filter((e) => e.kind === 'handoff').map((e) => program.idToIndex.get(e.to)!);
            // The id is often written to a local and then kept elsewhere (`pthread_create(&t, …);
            // pool->threads[i] = t`): a join reads it where the creating function stores it.
            const keys = new Set(waits.objectKeys(call.args[0] ?? [], fn));
            for (const v of call.args[0] ?? []) if (v.k === 'read' && v.loc.k === 'local') for (const k of this.storesOfLocal(fn, v.loc.name)) keys.add(k);
            for (const key of keys) for (const root of started) push(this.threadStores, key, { root, release: { fn: root, site: call.site, action: `thread started by ${name}` } });
          }
        }
      });
    });
  }

  /** Where function `fn` stores the value of its local `name` (`w->threads[n] = t`). */
  private storesOfLocal(fn: number, name: string): string[] {
    const out: string[] = [];
    for (const flow of this.program.facts[fn]?.flows ?? []) {
      if (!flow.from.some((v) => v.k === 'read' && v.loc.k === 'local' && v.loc.name === name)) continue;
      const key = this.program.locationKey(flow.to, fn);
      if (key) out.push(key);
    }
    return out;
  }

  /** Writer keys per struct type (`F:S.field` under `S`), for objects a condition hands to a call. */
  private writersByStruct: Map<string, string[]> | undefined;

  /**
   * Storage keys a spin condition depends on through a call it makes on an object:
   * `while (queue_pending(&pool->jobs) > 0)` reads `pool->jobs` only to pass it, and the callee
   * reads the queue's fields, so the wait depends on every field of the queue's struct type
   * (and of the structs embedded in it, one level down).
   */
  private inspectedObjectKeys(w: WaitSite): string[] {
    const loop = w.loop;
    const facts = this.program.facts[w.fn];
    if (!loop || !facts) return [];
    const passed: Loc[] = [];
    // Calls anywhere in the condition: `while (running && queue_pending(&pool->jobs) > 0)` too.
    const condCalls: number[] = [];
    allCalls(loop.cond, condCalls);
    for (const call of condCalls) {
      for (const vals of facts.calls[call]?.args ?? []) for (const v of vals) if (v.k === 'read' && v.loc.k !== 'local') passed.push(v.loc);
    }
    if (!passed.length) return [];
    if (!this.writersByStruct) {
      this.writersByStruct = new Map();
      for (const key of this.writers.keys()) {
        if (!key.startsWith('F:') || key.startsWith('F:?.')) continue;
        const struct = key.slice(2, key.lastIndexOf('.'));
        const list = this.writersByStruct.get(struct) ?? [];
        list.push(key);
        this.writersByStruct.set(struct, list);
      }
    }
    const symbols = this.program.symbols;
    const file = this.program.functions[w.fn].file ?? '';
    const structOf = (type: string | undefined): string | null => {
      if (!type) return null;
      const c = symbols.canonicalType(type);
      return symbols.structs.has(c) ? c : null;
    };
    const out: string[] = [];
    for (const loc of passed) {
      let type: string | undefined;
      if (loc.k === 'field') {
        const sk = symbols.structKeyOf(loc.base, file);
        type = sk ? symbols.structFor(sk, file)!.fields.find((f) => f.name === loc.field)?.type : undefined;
      } else if (loc.k === 'global') {
        type = symbols.globalNamed(loc.name, file)?.facts.type;
      }
      const struct = structOf(type);
      if (!struct) continue;
      const structs = [struct, ...symbols.structFor(struct, file)!.fields.map((f) => structOf(f.type)).filter((t): t is string => !!t && t !== struct)];
      for (const st of new Set(structs)) out.push(...(this.writersByStruct.get(st) ?? []));
    }
    return out;
  }

  /**
   * Writes to an inspected object that cannot release a wait whose call result must move one way
   * (`while (pending(&pool->jobs) > 0)` ends when the count falls): counters moved the other way
   * (`len += n`), and every write of a function that only moves them that way, the stores that
   * link a pushed job in (`rear = job`) included. A thread that queues work is not one the drain
   * waits for; listing it as awaited would make its lock a reason for a deadlock. Functions that
   * move a counter both ways, or only store afresh (`len = 0` when a queue is cleared), stay.
   */
  private producerWrites(inspected: readonly string[], sense: 'falls' | 'rises' | undefined): Set<Release> {
    const out = new Set<Release>();
    if (!sense || !inspected.length) return out;
    const away = sense === 'falls' ? 1 : -1;
    const byFn = new Map<number, Release[]>();
    for (const k of inspected) for (const r of this.writers.get(k) ?? []) push(byFn, r.fn, r);
    for (const writes of byFn.values()) {
      const onlyAway = writes.some((r) => r.delta === away) && !writes.some((r) => r.delta === -away);
      for (const r of writes) if (r.delta === away || onlyAway) out.add(r);
    }
    return out;
  }

  of(w: WaitSite): { release: Release; roots?: number[] }[] {
    if (w.kind === 'spin') {
      const read = new Set(w.condReads.flatMap((r) => this.program.readKeys(r.loc, w.fn)));
      const inspected = this.inspectedObjectKeys(w).filter((k) => !read.has(k));
      const producers = this.producerWrites(inspected, w.loop?.callSense);
      const keys = new Set([...read, ...inspected]);
      const out: { release: Release }[] = [];
      // Releases found only through a field of unknown struct type (`view->count` through a mirror for a
      // condition on `barrier->count`): kept for recall, unless counters that move do the release.
      const typed = new Set<Release>();
      const seen = new Set<Release>();
      for (const k of keys) {
        for (const r of this.writers.get(k) ?? []) {
          if (r.fn === w.fn || producers.has(r)) continue;
          if (!k.startsWith('F:?.')) typed.add(r);
          if (!seen.has(r)) { seen.add(r); out.push({ release: r }); }
        }
      }
      // A function that stores afresh into every one of the (several) locations the condition
      // reads (`barrier_init`: `count = n; received = 0`) sets the object up. When counters that
      // move (`received++`) exist, they are what releases the wait, and the set-up is no releaser:
      // it would make any thread that creates such an object, for any purpose, an awaited thread.
      // With one location, a plain store (`pending = 0` in a cancel) may well be the release.
      const plainPerRead = w.condReads
        .map((r) => this.program.readKeys(r.loc, w.fn).flatMap((k) => this.writers.get(k) ?? []).filter((x) => x.fn !== w.fn))
        .filter((ws) => ws.length)
        .map((ws) => new Set(ws.filter((x) => !x.update).map((x) => x.fn)));
      const initializers = plainPerRead.length >= 2 ? plainPerRead.reduce((a, b) => new Set([...a].filter((fn) => b.has(fn)))) : new Set<number>();
      const counters = out.some((r) => r.release.update && typed.has(r.release));
      const releasing = (out.some((r) => r.release.update) ? out.filter((r) => r.release.update || !initializers.has(r.release.fn)) : out)
        .filter((r) => !counters || typed.has(r.release));
      // Counters that move before plain stores: the releaser named is evidence a reader acts on.
      return [...releasing.filter((r) => r.release.update), ...releasing.filter((r) => !r.release.update)];
    }
    if (w.kind === 'join') {
      return w.objectKeys.flatMap((k) => (this.threadStores.get(k) ?? []).map((t) => ({ release: t.release, roots: [t.root] })));
    }
    const out: { release: Release }[] = [];
    for (const k of w.objectKeys) {
      for (const s of this.signals.get(k) ?? []) {
        if (s.kind !== w.kind) continue;
        if (s.release.fn === w.fn && s.release.site.line === w.site.line) continue;
        out.push({ release: s.release });
      }
    }
    return out;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, v: V): void {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}
