/**
 * Suggestions for misspelt names (config keys, options): the known name nearest by edit distance, so that an
 * error can say "unknown config key 'numTrainTimestep' (did you mean 'numTrainTimesteps'?)". Written here rather
 * than imported because the core library has no runtime dependencies (web/ loads dist/ in a browser as it is).
 */

/** Levenshtein distance between two strings (insertions, deletions and substitutions each count 1). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The known name nearest to `name` by edit distance (ignoring case); ties go to the first in `known`. */
export function closestName(name: string, known: readonly string[]): string {
  let best = known[0], bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) { best = candidate; bestDistance = distance; }
  }
  return best;
}

/**
 * The known name nearest to `name`, or null when even the nearest differs in more than a third of its letters
 * (at least 2 edits are always allowed).
 */
export function nearestName(name: string, known: readonly string[]): string | null {
  if (known.length === 0) return null;
  const best = closestName(name, known);
  return editDistance(name.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/**
 * The message for an unknown key: `<where>: unknown <what> '<key>' (did you mean '<nearest>'?); <what>s are
 * a, b, c`, the suggestion only when one is near.
 */
export function unknownKeyMessage(where: string, what: string, key: string, known: readonly string[]): string {
  const nearest = nearestName(key, known);
  return `${where}: unknown ${what} '${key}'${nearest ? ` (did you mean '${nearest}'?)` : ''}; ${what}s are ${known.join(', ')}`;
}
