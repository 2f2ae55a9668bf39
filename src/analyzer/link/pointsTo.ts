/**
 * Flow-insensitive, inclusion-based propagation of function addresses (Andersen-style, without
 * heap modelling): each abstract location is a node holding a set of "origins" — a function
 * address taken at one site — and `src → dst` means dst ⊇ src. Watchers let the linker add
 * argument-to-parameter edges when a new target reaches an indirect call site.
 */
export class PointsToSolver {
  private readonly ids = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly succ: number[][] = [];
  private readonly succSet: Set<number>[] = [];
  private readonly pts: Set<number>[] = [];
  private readonly delta: Set<number>[] = [];
  private readonly watchers = new Map<number, ((origin: number) => void)[]>();
  private readonly queue: number[] = [];
  private readonly queued: boolean[] = [];

  node(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
      this.succ.push([]);
      this.succSet.push(new Set());
      this.pts.push(new Set());
      this.delta.push(new Set());
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
    if (this.pts[node].has(origin)) return;
    this.pts[node].add(origin);
    this.delta[node].add(origin);
    this.enqueue(node);
  }

  addEdge(src: number, dst: number): void {
    if (src === dst || this.succSet[src].has(dst)) return;
    this.succSet[src].add(dst);
    this.succ[src].push(dst);
    for (const o of this.pts[src]) this.addOrigin(dst, o);
  }

  /** Calls `onOrigin` for every origin that reaches `node`, now and later. */
  watch(node: number, onOrigin: (origin: number) => void): void {
    const list = this.watchers.get(node);
    if (list) list.push(onOrigin);
    else this.watchers.set(node, [onOrigin]);
    for (const o of [...this.pts[node]]) onOrigin(o);
  }

  solve(): void {
    while (this.queue.length) {
      const n = this.queue.pop()!;
      this.queued[n] = false;
      const d = this.delta[n];
      if (!d.size) continue;
      this.delta[n] = new Set();
      for (const s of this.succ[n]) for (const o of d) this.addOrigin(s, o);
      const ws = this.watchers.get(n);
      if (ws) for (const o of d) for (const w of ws) w(o);
    }
  }

  pointsTo(node: number): ReadonlySet<number> {
    return this.pts[node];
  }

  private enqueue(node: number): void {
    if (this.queued[node]) return;
    this.queued[node] = true;
    this.queue.push(node);
  }
}
