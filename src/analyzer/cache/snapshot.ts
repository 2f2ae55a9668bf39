// A whole-tree snapshot for warm starts: the facts of every file, the linked program and the
// concurrency result, stored under a key that covers every input — the analyzer's code, the text
// of every analysed file (and which files were skipped), the model file, the file selection and
// the parser. A start whose inputs hash to the stored key restores it instead of reading 600
// per-file facts, re-linking (points-to solving) and re-running the concurrency pass; any other
// start ignores it and analyses as usual.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { FileFacts } from '../model';
import type { SourceFile, FileSelection } from '../files';
import type { SkippedFile } from '../graph';
import type { Profile } from '../profile/profile';
import type { ConcurrencyResult } from '../concurrency/findings';
import type { BlockingSummary, Finding, FindingsSummary } from '../concurrency/types';
import { FACTS_VERSION } from '../analyze';
import { restoreProgram, saveLink } from '../link/linker';
import type { LinkedProgram, SavedLink } from '../link/linker';

/** Bump when the snapshot's layout changes. */
const SNAPSHOT_VERSION = 'snapshot-1';

export interface SnapshotInputs {
  files: readonly SourceFile[];
  skipped: readonly SkippedFile[];
  modelText: string | null;
  selection: FileSelection;
  parser: string;
}

interface SavedContext { lock: string; id: string; root: number | null; reached: string; held: string }

interface SnapshotFile {
  key: string;
  facts: FileFacts[];
  skipped: SkippedFile[];
  link: SavedLink;
  concurrency: { findings: Finding[]; summary: FindingsSummary; mayBlock: [string, BlockingSummary][]; contexts: SavedContext[] };
}

export interface Restored {
  facts: FileFacts[];
  skipped: SkippedFile[];
  program: LinkedProgram;
  concurrency: ConcurrencyResult;
}

let codeHash: string | undefined;

/**
 * The running analyzer's code: the bundle this module was built into (dist/server.js, the CLI
 * bundle), so a rebuilt extension never trusts an older build's results. Under tsx (tests) it is
 * this source file — the snapshot version then guards the layout only.
 */
function analyzerCodeHash(): string {
  if (codeHash === undefined) {
    const self = __filename;
    codeHash = existsSync(self) ? createHash('sha256').update(readFileSync(self)).digest('hex') : 'unknown';
  }
  return codeHash;
}

export function snapshotKey(inputs: SnapshotInputs): string {
  const h = createHash('sha256');
  h.update(`${SNAPSHOT_VERSION}\0${FACTS_VERSION}\0${analyzerCodeHash()}\0${inputs.parser}\0`);
  h.update(JSON.stringify(inputs.selection)).update('\0');
  h.update(inputs.modelText === null ? '\u0001no-model' : `model\0${inputs.modelText}`).update('\0');
  h.update(JSON.stringify(inputs.skipped)).update('\0');
  for (const f of inputs.files) h.update(f.file).update('\0').update(String(f.text.length)).update('\0').update(f.text).update('\0');
  return h.digest('hex');
}

/** One snapshot per analysed root, named after the root's path. */
function snapshotFile(dir: string, root: string): string {
  return path.join(dir, `${createHash('sha256').update(root).digest('hex').slice(0, 24)}.json`);
}

/** The stored snapshot of `root` when its key is `key` and it fits; null otherwise (missing, stale, damaged). */
export async function loadSnapshot(dir: string, root: string, key: string, profile: Profile): Promise<Restored | null> {
  let data: SnapshotFile;
  try {
    const text = await fs.readFile(snapshotFile(dir, root), 'utf8');
    // The key is the first field: reject a stale snapshot before parsing 30 MB of JSON.
    if (!text.startsWith(`{"key":${JSON.stringify(key)},`)) return null;
    data = JSON.parse(text) as SnapshotFile;
  } catch {
    return null;
  }
  if (data.key !== key) return null;
  const program = restoreProgram(data.facts, profile, data.link);
  if (!program) return null;
  const edges = program.edges.length;
  const contexts: ConcurrencyResult['contexts'] = [];
  for (const c of data.concurrency.contexts) {
    const reached = fromBase64(c.reached);
    const held = fromBase64(c.held);
    if (reached.length !== program.functions.length || held.length !== edges) return null;
    contexts.push({ lock: c.lock, id: c.id, root: c.root, reached, heldEdges: (ei: number) => held[ei] === 1 });
  }
  return {
    facts: data.facts,
    skipped: data.skipped,
    program,
    concurrency: { findings: data.concurrency.findings, summary: data.concurrency.summary, mayBlock: new Map(data.concurrency.mayBlock), contexts },
  };
}

/** Stores a snapshot (written to a temporary file and renamed, so a reader never sees half of one). */
export async function saveSnapshot(dir: string, root: string, key: string, facts: FileFacts[], skipped: SkippedFile[], program: LinkedProgram, concurrency: ConcurrencyResult): Promise<boolean> {
  const link = saveLink(program);
  if (!link) return false;
  const edges = program.edges.length;
  const contexts: SavedContext[] = concurrency.contexts.map((c) => {
    // The held-edge predicate is lazy inside the concurrency pass; store its values.
    const held = new Uint8Array(edges);
    for (let ei = 0; ei < edges; ei++) if (c.heldEdges(ei)) held[ei] = 1;
    return { lock: c.lock, id: c.id, root: c.root, reached: toBase64(c.reached), held: toBase64(held) };
  });
  const data: SnapshotFile = {
    key,
    facts,
    skipped,
    link,
    concurrency: { findings: concurrency.findings, summary: concurrency.summary, mayBlock: [...concurrency.mayBlock], contexts },
  };
  // Serialized before the first await: an edit applied meanwhile must not leak into the snapshot.
  const text = JSON.stringify(data);
  const file = snapshotFile(dir, root);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
    return true;
  } catch {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    return false;
  }
}

function toBase64(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}
