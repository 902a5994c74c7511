/**
 * Renders progress events as one status line on a terminal (stderr): bytes, items, throughput and
 * ETA. Silent when stderr is not a TTY, with `--json` and with `--quiet`.
 */
import type { Progress } from '../core/progress.js';
import { formatBytes, formatSeconds } from '../core/units.js';

const REDRAW_MS = 100;

export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #latest: Progress | undefined;
  #phase = '';
  #phaseStart = 0;
  #lastDraw = 0;
  #drawn = false;

  constructor(stream: NodeJS.WriteStream, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled && stream.isTTY === true;
  }

  /** A listener to hand to library functions. */
  readonly listener = (progress: Progress): void => {
    if (!this.#enabled) return;
    if (progress.phase !== this.#phase) {
      this.#phase = progress.phase;
      this.#phaseStart = Date.now();
    }
    this.#latest = progress;
    const now = Date.now();
    if (now - this.#lastDraw >= REDRAW_MS) {
      this.#lastDraw = now;
      this.#draw(now);
    }
  };

  /** Prints a line above the status line (a warning, say) without garbling either. */
  print(text: string): void {
    this.#clear();
    this.#stream.write(`${text}\n`);
    if (this.#enabled && this.#latest) this.#draw(Date.now());
  }

  /** Like {@link print}, but only on a terminal with progress shown (transient news, like retries). */
  note(text: string): void {
    if (this.#enabled) this.print(text);
  }

  /** Removes the status line. */
  done(): void {
    this.#clear();
    this.#latest = undefined;
  }

  #draw(now: number): void {
    const p = this.#latest!;
    const elapsed = (now - this.#phaseStart) / 1000;
    const parts = [p.phase.padEnd(9)];
    if (p.bytesTotal !== undefined && p.bytesTotal > 0) {
      const percent = Math.min(100, (100 * p.bytesDone) / p.bytesTotal);
      parts.push(`${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}`, `${percent.toFixed(0)}%`);
    } else if (p.bytesDone > 0) {
      parts.push(formatBytes(p.bytesDone));
    }
    if (elapsed > 0.5 && p.bytesDone > 0) {
      const rate = p.bytesDone / elapsed;
      parts.push(`${formatBytes(rate)}/s`);
      if (p.bytesTotal !== undefined && p.bytesTotal > p.bytesDone && rate > 0) {
        parts.push(`ETA ${formatSeconds((p.bytesTotal - p.bytesDone) / rate)}`);
      }
    }
    parts.push(p.itemsTotal !== undefined ? `${p.itemsDone}/${p.itemsTotal} ${p.itemUnit}` : `${p.itemsDone} ${p.itemUnit}`);
    let line = parts.join('  ');
    const width = this.#stream.columns || 100;
    if (p.current && line.length + 4 < width) {
      const room = width - line.length - 3;
      const current = p.current.length > room ? `…${p.current.slice(-(room - 1))}` : p.current;
      line = `${line}  ${current}`;
    }
    this.#stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
    this.#drawn = true;
  }

  #clear(): void {
    if (this.#drawn) {
      this.#stream.write('\r\x1b[2K');
      this.#drawn = false;
    }
  }
}
