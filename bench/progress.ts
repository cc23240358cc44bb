/**
 * Progress display on stderr: one status line, redrawn in place on a terminal and printed line by
 * line otherwise (CI logs). Results of each step are printed as permanent lines above it.
 */

export class Progress {
  private done = 0;
  private readonly startedAt = performance.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number) {}

  /** Shows what runs now. */
  step(label: string): void {
    const line = `[${String(this.done + 1).padStart(3)}/${this.total}] ${this.elapsed()} ${label}`;
    process.stderr.write(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
  }

  /** Marks the current step done and prints its outcome. */
  finish(outcome: string): void {
    this.done++;
    process.stderr.write(this.tty ? `\r\x1b[K      ${outcome}\n` : `      ${outcome}\n`);
  }

  log(message: string): void {
    process.stderr.write(this.tty ? `\r\x1b[K${message}\n` : `${message}\n`);
  }

  private elapsed(): string {
    const s = Math.floor((performance.now() - this.startedAt) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }
}
