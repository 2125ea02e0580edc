/**
 * Progress of long work on stderr, so stdout stays for results: one line rewritten in place on a
 * terminal, a line every few seconds otherwise (CI logs), never more often than needed.
 */
export class ProgressLine {
  private lastPrintedAt = 0;
  private width = 0;
  private readonly interactive: boolean;

  constructor(
    private readonly write: (text: string) => void,
    options: { interactive?: boolean; intervalMs?: number } = {},
  ) {
    this.interactive = options.interactive ?? Boolean(process.stderr.isTTY);
    this.intervalMs = options.intervalMs ?? (this.interactive ? 100 : 5_000);
  }

  private readonly intervalMs: number;

  update(text: string, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastPrintedAt < this.intervalMs) return;
    this.lastPrintedAt = now;
    if (this.interactive) {
      this.write(`\r${text.padEnd(this.width)}`);
      this.width = text.length;
    } else {
      this.write(`${text}\n`);
    }
  }

  /** Ends the in-place line so what follows starts on a fresh one. */
  done(): void {
    if (this.interactive && this.width > 0) this.write('\n');
    this.width = 0;
  }
}

/** `1,234,567` */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
