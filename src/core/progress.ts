/**
 * Progress reporting shared by every long operation. Library functions call an `onProgress` listener
 * with the full current state (not deltas) as often as they like; renderers (the CLI's status line,
 * later the server's event stream) throttle on their side.
 */

export interface Progress {
  /** What is happening: `scan`, `backup`, `restore`, `check`, `read-data`, `prune`, … */
  readonly phase: string;
  readonly bytesDone: number;
  /** Unknown while a scan is still counting. */
  readonly bytesTotal?: number;
  readonly itemsDone: number;
  readonly itemsTotal?: number;
  /** What the items are, plural: `files`, `packs`, `snapshots`. */
  readonly itemUnit: string;
  /** The path or object being worked on. */
  readonly current?: string;
}

export type ProgressListener = (progress: Progress) => void;

/** A {@link Progress} without the absent totals (so listeners see no `undefined` fields). */
export function progressOf(
  phase: string,
  itemUnit: string,
  itemsDone: number,
  itemsTotal: number | undefined,
  bytesDone: number,
  bytesTotal?: number,
): Progress {
  return {
    phase,
    itemUnit,
    itemsDone,
    bytesDone,
    ...(itemsTotal === undefined ? {} : { itemsTotal }),
    ...(bytesTotal === undefined ? {} : { bytesTotal }),
  };
}

/** A non-fatal problem with one item; the operation went on without it. */
export interface Warning {
  readonly path: string;
  readonly message: string;
}

export type WarningListener = (warning: Warning) => void;
