import { distance } from 'fastest-levenshtein';
import { closestNames } from '../registry/registry.js';

/** The closest candidates by edit distance, only those as close as the closest one. */
export function nearest(name: string, candidates: readonly string[]): string[] {
  const near = closestNames(name, [...candidates]);
  if (near.length === 0) return near;
  const best = distance(name, near[0]!);
  return near.filter((n) => distance(name, n) === best);
}

/** `; did you mean X?` (or '' when nothing is close). */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const near = nearest(name, candidates);
  return near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '';
}
