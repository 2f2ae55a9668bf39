import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LockpathError } from '../errors';

/** Runs git with an argument array (never a shell string) and returns stdout. */
function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => reject(new LockpathError(`cannot run git: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new LockpathError(`git ${args[0]} failed: ${err.trim().split('\n')[0] || `exit ${code}`}`))));
  });
}

export interface Checkout { dir: string; rev: string; cleanup(): Promise<void> }

/**
 * Materialises `rev` of the repository containing `dir` into a temporary directory
 * (`git archive | tar -x`, both spawned without a shell) and returns the path that corresponds
 * to `dir` inside it.
 */
export async function checkoutRevision(dir: string, rev: string): Promise<Checkout> {
  const absDir = path.resolve(dir);
  const top = (await git(absDir, ['rev-parse', '--show-toplevel']).catch(() => {
    throw new LockpathError(`${dir}: not inside a git repository`);
  })).trim();
  const commit = (await git(absDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]).catch(() => {
    throw new LockpathError(`'${rev}' is not a revision of the repository at ${top}`);
  })).trim();
  const sub = path.relative(top, absDir);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'lockpath-rev-'));
  try {
    await new Promise<void>((resolve, reject) => {
      const archive = spawn('git', ['archive', '--format=tar', commit, ...(sub ? ['--', sub] : [])], { cwd: top, stdio: ['ignore', 'pipe', 'pipe'] });
      const tar = spawn('tar', ['-x', '-C', tmp], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      archive.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      tar.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      archive.stdout.pipe(tar.stdin);
      archive.on('error', reject);
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new LockpathError(`cannot materialise ${rev}: ${err.trim().split('\n')[0]}`))));
    });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { dir: path.join(tmp, sub), rev: commit, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}
