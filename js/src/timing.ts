// For the views' timing tests: the best of a few tries, since one try on a shared machine
// measures the other processes as much as the code.

/** The fewest milliseconds `run` took in `tries` tries (each try gets fresh inputs from `setup`). */
export function bestOf<T>(tries: number, setup: () => T, run: (input: T) => void): number {
  let best = Infinity;
  for (let k = 0; k < tries; k++) {
    const input = setup();
    const t = performance.now();
    run(input);
    best = Math.min(best, performance.now() - t);
  }
  return best;
}
