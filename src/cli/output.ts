/**
 * What commands print. Results go to stdout, as text or, with `--json`, as one JSON document;
 * progress and diagnostics go to stderr so stdout stays clean for pipes.
 */
import type { Writable } from 'node:stream';

export class Output {
  readonly json: boolean;
  readonly #stdout: Writable;
  readonly #stderr: Writable;

  constructor(options: { json: boolean; stdout?: Writable; stderr?: Writable }) {
    this.json = options.json;
    this.#stdout = options.stdout ?? process.stdout;
    this.#stderr = options.stderr ?? process.stderr;
  }

  /** A line of human-readable result (suppressed with --json). */
  line(text = ''): void {
    if (!this.json) this.#stdout.write(`${text}\n`);
  }

  /** The machine-readable result (only with --json). */
  result(value: unknown): void {
    if (this.json) this.#stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A notice for the human at the terminal, on stderr (also with --json). */
  notice(text: string): void {
    this.#stderr.write(`${text}\n`);
  }

  /** Rows padded into columns; the first row is the header. */
  table(rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): void {
    if (this.json || rows.length === 0) return;
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
    for (const row of rows) {
      const cells = row.map((cell, column) =>
        rightAligned.includes(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      );
      this.#stdout.write(`${cells.join('  ').trimEnd()}\n`);
    }
  }

  get stdout(): Writable {
    return this.#stdout;
  }
}
