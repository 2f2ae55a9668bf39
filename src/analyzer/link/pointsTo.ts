/**
 * Flow-insensitive, inclusion-based propagation of function addresses (Andersen-style, without
 * heap modelling): each abstract location is a node holding a set of "origins" — a function
 * address taken at one site — and `src → dst` means dst ⊇ src. Watchers let the linker add
 * argument-to-parameter edges when a new target reaches an indirect call site.
 */
export class PointsToSolver {
  private readonly ids = new Map<string, number>();
  private readonly keys: string[] = [];
  // Per node, created on first use: most nodes (locals, fields, parameters that never see a
  // function address) stay empty, and four containers for each of ~40k nodes on RediSearch were
  // a good part of linking's allocation and garbage collection.
  private readonly succ: (number[] | undefined)[] = [];
  private readonly succSet: (Set<number> | undefined)[] = [];
  private readonly pts: (Set<number> | undefined)[] = [];
  private readonly delta: (Set<number> | undefined)[] = [];
  private readonly watchers = new Map<number, ((origin: number) => void)[]>();
  private readonly queue: number[] = [];
  private readonly queued: boolean[] = [];

  node(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
      this.succ.push(undefined);
      this.succSet.push(undefined);
      this.pts.push(undefined);
      this.delta.push(undefined);
      this.queued.push(false);
    }
    return id;
  }

  lookup(key: string): number | undefined {
    return this.ids.get(key);
  }

  keysMatching(predicate: (key: string) => boolean): string[] {
    return this.keys.filter(predicate);
  }

  addOrigin(node: number, origin: number): void {
    const pts = (this.pts[node] ??= new Set());
    if (pts.has(origin)) return;
    pts.add(origin);
    (this.delta[node] ??= new Set()).add(origin);
    this.enqueue(node);
  }

  addEdge(src: number, dst: number): void {
    if (src === dst) return;
    const set = (this.succSet[src] ??= new Set());
    if (set.has(dst)) return;
    set.add(dst);
    (this.succ[src] ??= []).push(dst);
    const pts = this.pts[src];
    if (pts) for (const o of pts) this.addOrigin(dst, o);
  }

  /** Calls `onOrigin` for every origin that reaches `node`, now and later. */
  watch(node: number, onOrigin: (origin: number) => void): void {
    const list = this.watchers.get(node);
    if (list) list.push(onOrigin);
    else this.watchers.set(node, [onOrigin]);
    const pts = this.pts[node];
    if (pts) for (const o of [...pts]) onOrigin(o);
  }

  solve(): void {
    while (this.queue.length) {
      const n = this.queue.pop()!;
      this.queued[n] = false;
      const d = this.delta[n];
      if (!d?.size) continue;
      this.delta[n] = undefined;
      const succ = this.succ[n];
      if (succ) for (const s of succ) for (const o of d) this.addOrigin(s, o);
      const ws = this.watchers.get(n);
      if (ws) for (const o of d) for (const w of ws) w(o);
    }
  }

  pointsTo(node: number): ReadonlySet<number> {
    return this.pts[node] ?? NO_ORIGINS;
  }

  private enqueue(node: number): void {
    if (this.queued[node]) return;
    this.queued[node] = true;
    this.queue.push(node);
  }
}

const NO_ORIGINS: ReadonlySet<number> = new Set();
