/**
 * "Did you mean …?" for typos in keys, enum values, action names and time
 * zones. Case, `-` and `_` are ignored (so `dependsOn` and `dependson` both
 * find `depends_on`), and a swap of two neighbouring letters counts as one edit.
 */
export function closestMatch(input: string, candidates: Iterable<string>): string | undefined {
  const wanted = normalise(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const normalised = normalise(candidate);
    const distance = editDistance(wanted, normalised);
    const allowed = Math.max(1, Math.floor(Math.max(wanted.length, normalised.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[-_\s]/g, '');
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[i - 2]![j - 2]! + 1);
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}

/** `, did you mean "x"?` or nothing, for appending to a message. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = closestMatch(input, candidates);
  return match === undefined ? '' : `, did you mean "${match}"?`;
}
