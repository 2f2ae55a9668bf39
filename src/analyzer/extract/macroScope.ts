import { MacroTable, preferredDefinition } from '../macros';
import type { MacroDef } from '../macros';

const NONE: readonly MacroDef[] = [];

/**
 * The macros visible in one file: its own #defines, then those of the headers it includes
 * (transitively). A macro from a header the file does not include must not turn its calls of a
 * same-named function into expansions. Headers themselves see every header's macros, because
 * headers often rely on what their includers included first.
 */
export class FileMacroScope extends MacroTable {
  private readonly local = new MacroTable();

  constructor(private readonly shared: MacroTable, localDefs: readonly MacroDef[], private readonly visible: ReadonlySet<string> | null) {
    super();
    this.local.addAll(localDefs);
  }

  private sharedDefs(name: string): readonly MacroDef[] {
    const defs = this.shared.all(name);
    if (!defs.length || !this.visible) return defs;
    let allVisible = true;
    for (const d of defs) if (!this.visible.has(d.file)) { allVisible = false; break; }
    if (allVisible) return defs;
    const filtered = defs.filter((d) => this.visible!.has(d.file));
    return filtered.length ? filtered : NONE;
  }

  override all(name: string): readonly MacroDef[] {
    const own = this.local.all(name);
    return own.length ? own : this.sharedDefs(name);
  }

  override get(name: string): MacroDef | undefined {
    const own = this.local.get(name);
    if (own) return own;
    return preferredDefinition(this.sharedDefs(name));
  }

  override has(name: string): boolean {
    return this.local.has(name) || this.sharedDefs(name).length > 0;
  }

  override isFunctionLike(name: string): boolean {
    const d = this.get(name);
    return !!d && d.params !== null;
  }

  override *names(): IterableIterator<string> {
    yield* this.local.names();
    for (const n of this.shared.names()) if (!this.local.has(n) && this.sharedDefs(n).length) yield n;
  }

  override fingerprint(): string {
    return `${this.shared.fingerprint()}+${this.local.fingerprint()}+${this.visible ? [...this.visible].sort().join(',') : '*'}`;
  }
}
