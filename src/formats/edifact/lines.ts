/**
 * Where lines start in a payload read chunk by chunk, so that an offset of the whole payload gives
 * its line and column. Only the lines from the oldest offset still asked about are kept: the reader
 * forgets the lines before the segment it reads, so memory does not grow with the payload.
 */
export class LineIndex {
  /** Offsets where lines start, from line `first` (0-based) on. */
  private starts: number[] = [0];
  private first = 0;

  /** Notes the line breaks of `text`, which starts at payload offset `base`. */
  add(text: string, base: number): void {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(base + i + 1);
  }

  /** 1-based line and column (byte on the line) of a 0-based payload offset not yet forgotten. */
  at(offset: number): { line: number; column: number } {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: this.first + lo + 1, column: offset - (starts[lo] ?? 0) + 1 };
  }

  /** Forgets the lines that end before `offset`. */
  forget(offset: number): void {
    let keep = 0;
    while (keep + 1 < this.starts.length && (this.starts[keep + 1] ?? 0) <= offset) keep++;
    if (keep === 0) return;
    this.starts = this.starts.slice(keep);
    this.first += keep;
  }
}
