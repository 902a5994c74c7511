/**
 * Progress of a migration, as events the engine sends while it works: the CLI draws a line per tenant
 * from them, the server will stream the same events.
 */

export interface MigrationProgress {
  readonly tenant: string;
  readonly dataset: string;
  readonly step: 'stage' | 'load';
  /** Source rows read (stage) or records sent (load) of this dataset by this run. */
  readonly done: number;
  /** Load only: the dataset's staged records not yet loaded when the load began. */
  readonly total?: number;
}

export type MigrationProgressListener = (progress: MigrationProgress) => void;
