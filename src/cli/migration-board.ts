/**
 * Live progress of `migrate run` on a terminal (stderr): one line per tenant being migrated, with its
 * current dataset, step, count, rate and (loading) ETA, redrawn in place. Silent when stderr is not a
 * TTY, with `--json` and with `--quiet`.
 */
import { formatNumber, formatSeconds } from '../core/units.js';
import type { MigrationProgress } from '../migrate/progress.js';

const REDRAW_MS = 200;

interface TenantLine {
  latest: MigrationProgress;
  /** When the current dataset's step began. */
  since: number;
}

export class MigrationBoard {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  readonly #tenants = new Map<string, TenantLine>();
  #drawnLines = 0;
  #lastDraw = 0;

  constructor(stream: NodeJS.WriteStream, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled && stream.isTTY === true;
  }

  /**
   * The engine's `onProgress` option, to spread into its options: none when the board does not draw,
   * since progress costs the engine queries (the records each load has to send).
   */
  get progress(): { readonly onProgress?: (progress: MigrationProgress) => void } {
    return this.#enabled ? { onProgress: this.#listener } : {};
  }

  readonly #listener = (progress: MigrationProgress): void => {
    const line = this.#tenants.get(progress.tenant);
    const now = Date.now();
    if (!line || line.latest.dataset !== progress.dataset || line.latest.step !== progress.step) {
      this.#tenants.set(progress.tenant, { latest: progress, since: now });
    } else {
      line.latest = progress;
    }
    if (now - this.#lastDraw >= REDRAW_MS) this.#draw(now);
  };

  /** Takes a tenant's line off the board (it is done), and clears the board so results can be printed. */
  finish(tenant: string): void {
    this.#tenants.delete(tenant);
    this.clear();
  }

  /** Removes the board from the screen; the next event draws it again. */
  clear(): void {
    if (this.#drawnLines === 0) return;
    this.#stream.write(`\x1b[${this.#drawnLines}A\r\x1b[J`);
    this.#drawnLines = 0;
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    const width = (this.#stream.columns || 100) - 1;
    const lines = [...this.#tenants.entries()].map(([tenant, line]) => describe(tenant, line, now).slice(0, width));
    this.clear();
    if (lines.length > 0) this.#stream.write(`${lines.join('\n')}\n`);
    this.#drawnLines = lines.length;
  }
}

/** `tenant 42  load   guest     12,300/40,000 records  4,980/s  ETA 6s` */
function describe(tenant: string, { latest, since }: TenantLine, now: number): string {
  const seconds = (now - since) / 1000;
  const rate = seconds > 0.5 ? latest.done / seconds : 0;
  const unit = latest.step === 'stage' ? 'rows' : 'records';
  const parts = [`tenant ${tenant}`, latest.step.padEnd(5), latest.dataset.padEnd(14)];
  parts.push(latest.total !== undefined ? `${formatNumber(Math.min(latest.done, latest.total))}/${formatNumber(latest.total)} ${unit}` : `${formatNumber(latest.done)} ${unit}`);
  if (rate > 0) parts.push(`${formatNumber(Math.round(rate))}/s`);
  if (rate > 0 && latest.total !== undefined && latest.total > latest.done) parts.push(`ETA ${formatSeconds((latest.total - latest.done) / rate)}`);
  return parts.join('  ');
}
