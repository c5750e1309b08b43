/** Calls `fn` for `seconds` and returns how many calls per second it managed. */
export function opsPerSecond(fn: () => void, seconds = 2): number {
  let n = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    fn();
    n++;
  }
  return n / seconds;
}
