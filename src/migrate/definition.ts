/**
 * A migration definition: what a user's `migration.ts` exports (see docs/migration.md). Vocabulary:
 * a *dataset* is one kind of target record (hotel, guest, vendor…), extracted from the source per
 * tenant, turned into records by `transform`, staged, then loaded into a target; a *source key*
 * identifies a source row within its dataset; a *reference* (`ctx.ref('guest', key)`) stands for the
 * target id a record of an earlier dataset gets when it is loaded.
 *
 * `defineMigration` is generic over the dataset names, so a misspelled name in `dependsOn` or
 * `ctx.ref` is a compile error in the user's editor; {@link validateMigration} finds the same mistakes
 * in a file loaded without type checking.
 */

/** A source row as the driver returns it. */
export type SourceRow = Readonly<Record<string, unknown>>;

/** The values of a dataset's key columns; one value for a single-column key. */
export type SourceKey = unknown;

/** A target record: JSON, with references where target ids go. */
export type TargetRecord = Readonly<Record<string, unknown>>;

/** Placeholder for the target id of a record of an earlier dataset, replaced when loading. */
export interface Reference {
  readonly $ref: readonly [dataset: string, key: readonly string[]];
}

export interface TransformContext<Names extends string> {
  /** The tenant being migrated, as given on the command line. */
  readonly tenant: string;
  /** The record of `dataset` with this source key (one value, or one per key column). */
  ref(dataset: Names, key: SourceKey): Reference;
  /**
   * `record` with a name of its own among the records of its row (`KEY#name`), for a row that yields
   * several: without names they are told apart by position, so a record that comes and goes (a contact
   * filled in, then cleared) would shift the others onto the wrong target records.
   */
  keyed(name: string, record: TargetRecord): TargetRecord;
}

/** What every load spec has, whatever the target. */
interface LoadCommon {
  /** Records per request (HTTP) or transaction (PostgreSQL); default 100. */
  readonly batchSize?: number;
  /**
   * The error budget: the load of this dataset stops (and with it the tenant's run, state kept) once the
   * target has refused more records than this, a count or a share of the records sent (`'2%'`).
   * Default: no limit; refused records are dead letters either way.
   */
  readonly maxRejected?: number | `${number}%`;
}

/** How a dataset's records reach an HTTP target. */
export interface HttpLoadSpec extends LoadCommon {
  /** Path under the target's base URL, e.g. `/guests`. */
  readonly endpoint: string;
  /** Default POST. */
  readonly method?: 'POST' | 'PUT';
  /** The target ids the response (JSON) assigned, one per record of the batch, in order. */
  readonly ids: (response: unknown) => readonly (string | number)[];
  /** How a changed record updates the target record it created; without it, changes are reported, not sent. */
  readonly update?: { readonly method?: 'PUT' | 'PATCH'; readonly endpoint: (targetId: string) => string };
}

/**
 * How a dataset's records reach a PostgreSQL target: each record is a row of `table`, its fields the
 * columns (a field that is no column is an error, not dropped). A changed record updates its row.
 */
export interface TableLoadSpec extends LoadCommon {
  /** `schema.table` or `table` (in the target's search path). */
  readonly table: string;
  /** The column holding the row's id, which references to the record become; default `id`. */
  readonly idColumn?: string;
}

/** How a dataset's records reach the target: an endpoint for an HTTP target, a table for a PostgreSQL one (or both). */
export type LoadSpec = HttpLoadSpec | TableLoadSpec | (HttpLoadSpec & TableLoadSpec);

/**
 * A call to another service for each source row (a geocoder, a CRM lookup), with its own limits; the
 * fields it returns are added to the row `transform` sees (they win over source columns of the same name).
 */
export interface EnrichSpec<Row extends SourceRow = SourceRow> {
  /**
   * Throwing, after `attempts` tries, fails that row only (a dead letter naming the enrichment); throw
   * an {@link EnrichError} to make every call wait (`retryAfterMs`) or to fail the row at once (`permanent`).
   */
  readonly fn: (row: Row, ctx: { readonly tenant: string; readonly signal: AbortSignal | undefined }) => Promise<Readonly<Record<string, unknown>>>;
  /** Calls per second, shared by every tenant migrated at once; default 10. */
  readonly ratePerSecond?: number;
  /** Calls in flight at once; default 4. */
  readonly concurrency?: number;
  /** Tries per row, the first included, with backoff and jitter between them; default 3. */
  readonly attempts?: number;
}

/**
 * What an enrichment's `fn` throws to say more than "failed": the service asked to wait
 * (`retryAfterMs`, e.g. from a 429's Retry-After: every call of that enrichment waits, and this one is
 * tried again), or trying again cannot help (`permanent`, e.g. a 422: the row fails at once).
 *
 * @example
 * if (response.status === 429) throw new EnrichError('geocoder is busy', { retryAfterMs: 1000 * Number(response.headers.get('retry-after') ?? 1) });
 */
export class EnrichError extends Error {
  readonly retryAfterMs: number | undefined;
  readonly permanent: boolean;

  constructor(message: string, options: { readonly retryAfterMs?: number; readonly permanent?: boolean } = {}) {
    super(message);
    this.name = 'EnrichError';
    this.retryAfterMs = options.retryAfterMs;
    this.permanent = options.permanent ?? false;
  }
}

export interface DatasetDefinition<Names extends string, Row extends SourceRow = SourceRow> {
  /** Datasets whose records this one's references point at; they are staged and loaded first. */
  readonly dependsOn?: readonly NoInfer<Names>[];
  /** SQL with the tenant as `$1`, ordered by `key` (the order checkpoints follow). */
  readonly extract: string;
  /** The source key's columns. */
  readonly key: readonly string[];
  /** Called for each row before `transform`; its fields join the row. */
  readonly enrich?: EnrichSpec<Row>;
  /** Zero, one or several target records for a row; throwing fails that row only. */
  readonly transform: (row: Row, ctx: TransformContext<NoInfer<Names>>) => TargetRecord | readonly TargetRecord[] | null | undefined;
  readonly load: LoadSpec;
}

/** An HTTP API records are loaded into. */
export interface HttpTarget {
  readonly kind?: 'http';
  /** e.g. `https://qa.api.example/v1`; dataset endpoints are appended. */
  readonly baseUrl: string;
  /** A header carrying a secret from the environment, e.g. `{ header: 'Authorization', env: 'QA_TOKEN', prefix: 'Bearer ' }`. */
  readonly auth?: { readonly header: string; readonly env: string; readonly prefix?: string };
  /** Records per second the target allows, shared by every tenant loading at once; default 100. */
  readonly ratePerSecond?: number;
  /** Requests in flight at once; default 4. */
  readonly concurrency?: number;
  /** Tries per request, the first included (default 8), and how long one may take (default 30 s). */
  readonly retry?: { readonly attempts?: number; readonly timeoutMs?: number };
}

/**
 * A PostgreSQL database records are inserted into, table by table. Batches are idempotent: each
 * commits with its idempotency key in `failsafe_migrate.target_batch` (created in the target), so a batch
 * sent again after a crash gets the ids of its first commit instead of inserting twice.
 */
export interface PostgresTarget {
  readonly kind: 'postgres';
  /** `postgres://user@host:port/database?sslmode=...`, without the password. */
  readonly url: string;
  /** The environment variable holding the password; default PGPASSWORD (or ~/.pgpass). */
  readonly passwordEnv?: string;
  /** Transactions in flight at once (one session each); default 4. */
  readonly concurrency?: number;
}

/** A PostgreSQL database the datasets are extracted from. */
export interface PostgresSource {
  /** `postgres://user@host:port/database?sslmode=...`, without the password. */
  readonly url: string;
  /** The environment variable holding the password; default PGPASSWORD (or ~/.pgpass). */
  readonly passwordEnv?: string;
}

export interface MigrationDefinition<Names extends string = string> {
  /** Where the datasets are extracted from; `--source URL` on the command line overrides it. */
  readonly source?: PostgresSource;
  /** SQL listing every tenant id of the source, one per row (first column), for `migrate run --all`. */
  readonly tenants?: string;
  /** Where `failsafe migrate run --target NAME` loads; the only one is the default. */
  readonly targets?: Readonly<Record<string, HttpTarget | PostgresTarget>>;
  readonly datasets: { readonly [N in Names]: DatasetDefinition<Names> };
}

/**
 * Declares a migration; the identity function, there for the types.
 *
 * @example
 * export default defineMigration({
 *   datasets: {
 *     hotel: { extract: 'SELECT * FROM gc_property WHERE property_id = $1', key: ['property_id'], transform: (row) => ({ name: row.prop_name }), load: { endpoint: '/hotels', ids: (r) => [(r as { id: number }).id] } },
 *     guest: { dependsOn: ['hotel'], extract: '...', key: ['guest_no'], transform: (row, ctx) => ({ hotelId: ctx.ref('hotel', row.property_id) }), load: { endpoint: '/guests', ids: (r) => (r as { ids: number[] }).ids } },
 *   },
 * });
 */
export function defineMigration<const Names extends string>(definition: MigrationDefinition<Names>): MigrationDefinition<Names> {
  return definition;
}
