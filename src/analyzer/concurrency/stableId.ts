import { createHash } from 'node:crypto';

/** A finding id stable across line moves: derived from names and expressions, never from lines. */
export function stableId(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}
