/**
 * Finds the newest occurrence <= `atOrBefore` using only `next()`, so a
 * schedule's backward answers can never disagree with its forward ones.
 *
 * The look-back window doubles from one `unit` until it contains an
 * occurrence (O(log gap) calls), then bisection narrows it down to the last
 * one (O(log window) calls): a few dozen `next()` calls even for a yearly
 * schedule, and two for an every-second one.
 *
 * `unit` is the granularity occurrences sit on (1000 for whole seconds);
 * `maxLookBackMs` bounds the search for schedules with no past occurrences.
 */
export function previousByBisection(
  next: (after: number) => number | undefined,
  atOrBefore: number,
  maxLookBackMs: number,
  unit: number,
): number | undefined {
  const isDue = (occurrence: number | undefined): occurrence is number => occurrence !== undefined && occurrence <= atOrBefore;
  // Grow the window until it holds an occurrence. Afterwards
  // next(low) <= atOrBefore < next(high), so the answer lies in (low, high].
  let high = atOrBefore;
  let low = Number.NaN;
  let best: number | undefined;
  for (let window = unit; best === undefined; window *= 2) {
    if (window > 2 * maxLookBackMs) return undefined;
    const candidate = atOrBefore - window;
    const occurrence = next(candidate);
    if (isDue(occurrence)) {
      low = candidate;
      best = occurrence;
    } else {
      high = candidate;
    }
  }
  while (high - low > unit) {
    const middle: number = low + Math.floor((high - low) / 2 / unit) * unit;
    const occurrence = next(middle);
    if (isDue(occurrence)) {
      low = middle;
      best = occurrence;
    } else {
      high = middle;
    }
  }
  return best;
}
