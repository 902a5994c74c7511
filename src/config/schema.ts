/**
 * The failsafe.yaml schema (version 1): kebab-case YAML input in, frozen camelCase {@link Config} out.
 *
 * Every object is strict (unknown keys are errors) and maps its keys to camelCase in its own
 * `.transform`, so the compiler checks each mapping. User-chosen names (repositories, sources) are
 * record keys and pass through unchanged. Leaf schemas carry an "expected ..." message that the loader
 * completes with the offending value and the file line.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseCalendarDuration } from '../core/units.js';
import type { CalendarDuration } from '../core/units.js';
import { didYouMean } from '../core/did-you-mean.js';

/** The only `version:` this build understands. */
export const CONFIG_VERSION = 1;

/** The environment variable holding a repository password when neither password key is set. */
export const DEFAULT_PASSWORD_ENV = 'FAILSAFE_PASSWORD';

/** Snapshot fields a retention policy can group by. */
export const GROUP_BY_FIELDS = ['host', 'paths', 'tags', 'source', 'tenant'] as const;
export type GroupByField = (typeof GROUP_BY_FIELDS)[number];

/** S3 client settings of one repository; `undefined` means the SDK's default (environment, profile). */
export interface S3Options {
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly pathStyle: boolean | undefined;
  readonly profile: string | undefined;
}

export interface RepositoryConfig {
  /** `s3://bucket/prefix` as written, or an absolute directory path. */
  readonly url: string;
  /** Environment variable holding the password; both password fields undefined means {@link DEFAULT_PASSWORD_ENV}. */
  readonly passwordEnv: string | undefined;
  /** Absolute path of a file holding the password (never set together with `passwordEnv`). */
  readonly passwordFile: string | undefined;
  readonly s3: S3Options | undefined;
  /** Concurrent storage requests, 1..256; undefined means the storage layer's default. */
  readonly connections: number | undefined;
  /** Attempts for retryable storage errors, 1..100; undefined means the storage layer's default. */
  readonly retries: number | undefined;
}

export interface PathsSourceConfig {
  readonly kind: 'paths';
  /** Absolute paths. */
  readonly paths: readonly string[];
  /** Glob patterns, as written. */
  readonly exclude: readonly string[];
  readonly tags: readonly string[];
  /** The source's own repository, else the default repository, else undefined. */
  readonly repository: string | undefined;
}

/** A foreign key the database does not declare, given in the config. */
export interface ExtraForeignKeyConfig {
  readonly from: string;
  readonly fromColumns: readonly string[];
  readonly to: string;
  readonly toColumns: readonly string[];
}

export interface PostgresSourceConfig {
  readonly kind: 'postgres';
  /** postgres://user@host:port/db?sslmode=...; may carry a password only when it came from the environment. */
  readonly url: string;
  readonly passwordEnv: string | undefined;
  readonly passwordFile: string | undefined;
  /** The tenant table and its id column; undefined: whole-database snapshots only. */
  readonly tenancy: { readonly root: string; readonly key: string; readonly ownership: 'reach' | 'root-key' | undefined } | undefined;
  /** Per-table rules, `schema.table` → whole | exclude. */
  readonly tables: Readonly<Record<string, 'whole' | 'exclude'>>;
  readonly extraForeignKeys: readonly ExtraForeignKeyConfig[];
  readonly tags: readonly string[];
  readonly repository: string | undefined;
}

export interface ObjectsSourceConfig {
  readonly kind: 'objects';
  /** `s3://bucket/prefix` or an absolute directory path. */
  readonly url: string;
  /** Key prefix of one tenant's objects, with `{tenant}` standing for the tenant id. */
  readonly tenantPrefix: string | undefined;
  readonly s3: S3Options | undefined;
  readonly tags: readonly string[];
  readonly repository: string | undefined;
}

/** What a source backs up, discriminated by `kind`. */
export type SourceConfig = PathsSourceConfig | PostgresSourceConfig | ObjectsSourceConfig;

/** One tenant of the multi-tenant sources, with (for escrow) its own repository and password. */
export interface TenantConfig {
  /** The value of the tenancy key in the root table, as text. */
  readonly id: string;
  /** A repository name from `repositories:`, or a URL. */
  readonly repository: string | undefined;
  readonly passwordEnv: string | undefined;
  readonly passwordFile: string | undefined;
}

/** The default forget policy. */
export interface RetentionConfig {
  readonly keepLast: number | undefined;
  readonly keepHourly: number | undefined;
  readonly keepDaily: number | undefined;
  readonly keepWeekly: number | undefined;
  readonly keepMonthly: number | undefined;
  readonly keepYearly: number | undefined;
  readonly keepWithin: CalendarDuration | undefined;
  readonly keepTag: readonly string[];
  /** Undefined means the forget command's default grouping. */
  readonly groupBy: readonly GroupByField[] | undefined;
}

/** The validated, deeply frozen configuration handed to the rest of the program. */
export interface Config {
  readonly version: typeof CONFIG_VERSION;
  /** `default-repository`, or the only repository when exactly one is defined. */
  readonly defaultRepository: string | undefined;
  readonly repositories: Readonly<Record<string, RepositoryConfig>>;
  readonly sources: Readonly<Record<string, SourceConfig>>;
  readonly tenants: Readonly<Record<string, TenantConfig>>;
  readonly retention: RetentionConfig | undefined;
}

export interface ConfigSchemaOptions {
  /** Directory that relative paths are resolved against: the config file's directory. */
  readonly baseDir: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DURATION = /^([0-9]+[ymwdh])+$/;
const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const S3_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

const TABLE_NAME = /^[^.\s]+\.[^.\s]+$/;
const COLUMN_REFERENCE = /^\s*([^.\s]+\.[^.\s(]+)\s*\(\s*([^()]+?)\s*\)\s*$/;

const MAPPING = 'expected a mapping (indented "key: value" lines)';

function name(what: string) {
  return z
    .string({ error: `expected a ${what} name` })
    .regex(NAME, { error: `a ${what} name uses letters, digits, ".", "_" and "-" and starts with a letter or digit` });
}

function text(expected: string) {
  return z.string({ error: expected }).min(1, { error: expected });
}

const TILDE = /^~($|[/\\])/;
const TILDE_MESSAGE = '"~" is not expanded here: write ${HOME}/... instead';

/** A file or directory path; relative ones are resolved by `absolute`. */
function localPath(expected: string, absolute: (path: string) => string) {
  return text(expected)
    .refine((path) => !TILDE.test(path), { error: TILDE_MESSAGE })
    .transform(absolute);
}

function list<T extends z.ZodType>(item: T, expected: string) {
  return z.array(item, { error: expected });
}

function count(description: string) {
  return z
    .int({ error: 'expected a whole number (-1 means unlimited)' })
    .min(-1)
    .optional()
    .describe(`${description} -1 means no limit.`);
}

/**
 * A copy of `record` with `map` applied to each value, without a prototype, so that looking up a
 * user-given name such as "constructor" finds nothing instead of an Object method.
 */
function mapValues<T, U>(record: Readonly<Record<string, T>>, map: (value: T) => U): Record<string, U> {
  const result: Record<string, U> = Object.create(null) as Record<string, U>;
  for (const [key, value] of Object.entries(record)) result[key] = map(value);
  return result;
}

// The cross-field checks below also run when other keys of the object failed validation (`when`), so
// that one run reports every problem; the values they read may therefore be unvalidated.

function checkPasswordKeys(repository: unknown, ctx: z.RefinementCtx): void {
  const r = asRecord(repository);
  if (r['password-env'] !== undefined && r['password-file'] !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['password-file'], message: 'set either password-env or password-file, not both' });
  }
}

function checkRepositoryReferences(config: unknown, ctx: z.RefinementCtx): void {
  const c = asRecord(config);
  const names = Object.keys(asRecord(c['repositories']));
  const check = (reference: unknown, path: readonly (string | number)[]): void => {
    if (typeof reference !== 'string' || names.includes(reference)) return;
    const known = names.length === 0 ? ' (no repositories are defined)' : ` (defined: ${names.join(', ')})`;
    const suggestion = didYouMean(reference, names);
    ctx.addIssue({
      code: 'custom',
      path: [...path],
      message: `no repository named "${reference}"${suggestion === '' ? known : suggestion}`,
    });
  };
  check(c['default-repository'], ['default-repository']);
  for (const [sourceName, source] of Object.entries(asRecord(c['sources']))) {
    check(asRecord(source)['repository'], ['sources', sourceName, 'repository']);
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asRecord(value: unknown): Readonly<Record<string, unknown>> {
  return isRecord(value) ? value : {};
}

/**
 * The zod schema of failsafe.yaml. Its input type is the YAML form (kebab-case keys, relative paths),
 * its output the {@link Config} with paths resolved against `options.baseDir`. Cross-field checks
 * (repository references, exclusive password keys) report the path of the offending key.
 *
 * @example
 * const result = configSchema({ baseDir: '/etc/failsafe' }).safeParse(parseDocument(text).toJS());
 * if (result.success) result.data.repositories['main']?.url;
 */
export function configSchema(options: ConfigSchemaOptions) {
  const absolute = (path: string): string => resolve(options.baseDir, path);

  const repositoryUrl = text('expected s3://bucket/prefix or a directory path')
    .superRefine((url, ctx) => {
      const scheme = URL_SCHEME.exec(url)?.[1];
      if (TILDE.test(url)) ctx.addIssue({ code: 'custom', input: url, message: TILDE_MESSAGE });
      if (scheme === undefined) return;
      if (scheme !== 's3') {
        ctx.addIssue({
          code: 'custom',
          input: url,
          message: `unsupported URL scheme "${scheme}://" (use s3://bucket/prefix or a directory path)`,
        });
      } else if (!S3_URL.test(url)) {
        ctx.addIssue({ code: 'custom', input: url, message: 'expected s3://bucket/prefix with a valid bucket name' });
      }
    })
    .transform((url) => (URL_SCHEME.test(url) || isAbsolute(url) ? url : absolute(url)));

  const s3 = z
    .strictObject(
      {
        endpoint: z
          .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
          .optional()
          .describe('Endpoint of an S3-compatible service (MinIO, Ceph, R2...); default: AWS.'),
        region: text('expected a region name').optional().describe('Region, e.g. eu-west-1; default: from the AWS environment.'),
        'path-style': z
          .boolean({ error: 'expected true or false' })
          .optional()
          .describe('Address buckets as endpoint/bucket instead of bucket.endpoint (most self-hosted services need this).'),
        profile: text('expected a profile name').optional().describe('Profile in ~/.aws/credentials and ~/.aws/config.'),
      },
      { error: MAPPING },
    )
    .describe('S3 client settings; credentials come from the usual AWS environment variables or the profile.')
    .transform(
      (s): S3Options => ({ endpoint: s.endpoint, region: s.region, pathStyle: s['path-style'], profile: s.profile }),
    );

  const repository = z
    .strictObject(
      {
        url: repositoryUrl.describe(
          'Where the repository lives: s3://bucket/prefix, or a directory path (relative to this file).',
        ),
        'password-env': z
          .string({ error: 'expected the name of an environment variable' })
          .regex(ENV_NAME, {
            error: 'expected the name of an environment variable (letters, digits and "_", not starting with a digit)',
          })
          .optional()
          .describe(`Name of the environment variable holding the password; default ${DEFAULT_PASSWORD_ENV}.`),
        'password-file': localPath('expected a file path', absolute)
          .optional()
          .describe('File holding the password (relative to this file); alternative to password-env.'),
        s3: s3.optional(),
        connections: z
          .int({ error: 'expected an integer from 1 to 256' })
          .min(1)
          .max(256)
          .optional()
          .describe('Concurrent storage requests, 1 to 256.'),
        retries: z
          .int({ error: 'expected an integer from 1 to 100' })
          .min(1)
          .max(100)
          .optional()
          .describe('Attempts for storage requests that fail with a retryable error, 1 to 100.'),
      },
      { error: MAPPING },
    )
    .describe('A repository: where snapshots are stored, encrypted, and how to reach it.')
    .superRefine(checkPasswordKeys, { when: ({ value }) => isRecord(value) })
    .transform(
      (r): RepositoryConfig => ({
        url: r.url,
        passwordEnv: r['password-env'],
        passwordFile: r['password-file'],
        s3: r.s3,
        connections: r.connections,
        retries: r.retries,
      }),
    );

  const tag = text('expected a tag').regex(/^[^,\s]+$/, { error: 'expected a tag without spaces or commas' });

  const pathsSource = z
    .strictObject(
      {
        kind: z.literal('paths').describe('paths: files and directories of this host.'),
        paths: list(localPath('expected a path', absolute), 'expected a list of paths')
          .min(1, { error: 'expected at least one path' })
          .describe('Files and directories to back up (relative ones are relative to this file).'),
        exclude: list(text('expected a glob pattern'), 'expected a list of glob patterns')
          .optional()
          .describe('Glob patterns of files and directories to leave out, e.g. "*.tmp" or "cache/".'),
        tags: list(tag, 'expected a list of tags').optional().describe('Tags added to every snapshot of this source.'),
        repository: name('repository')
          .optional()
          .describe('Repository this source is backed up to; default: default-repository.'),
      },
      { error: MAPPING },
    )
    .describe('Backs up files and directories.')
    .transform(
      (s): PathsSourceConfig => ({
        kind: s.kind,
        paths: s.paths,
        exclude: s.exclude ?? [],
        tags: s.tags ?? [],
        repository: s.repository,
      }),
    );

  const envName = z
    .string({ error: 'expected the name of an environment variable' })
    .regex(ENV_NAME, { error: 'expected the name of an environment variable (letters, digits and "_", not starting with a digit)' });
  const tableName = text('expected schema.table').regex(TABLE_NAME, { error: 'expected schema.table, e.g. public.hotel' });
  const columnReference = text('expected "schema.table (column, ...)"')
    .regex(COLUMN_REFERENCE, { error: 'expected "schema.table (column, ...)", e.g. "public.store (manager_staff_id)"' })
    .transform((reference) => {
      const match = COLUMN_REFERENCE.exec(reference)!;
      return { table: match[1]!, columns: match[2]!.split(',').map((column) => column.trim()) };
    });

  const postgresSource = z
    .strictObject(
      {
        kind: z.literal('postgres').describe('postgres: one PostgreSQL database, whole or per tenant.'),
        url: text('expected postgres://user@host:port/database')
          .regex(/^postgres(ql)?:\/\//, { error: 'expected postgres://user@host:port/database' })
          .describe('postgres://user@host:port/database?sslmode=...; put the password in password-env, password-file, PGPASSWORD or ~/.pgpass.'),
        'password-env': envName.optional().describe('Environment variable holding the database password.'),
        'password-file': localPath('expected a file path', absolute).optional().describe('File holding the database password.'),
        tenancy: z
          .strictObject(
            {
              root: tableName.describe('The tenant table, schema.table: one row per tenant.'),
              key: text('expected a column name').describe("The root table's column holding the tenant id."),
              ownership: z
                .enum(['reach', 'root-key'], { error: 'expected reach or root-key' })
                .optional()
                .describe(
                  "Whose rows are whose. reach (default): a row is the tenant's when it reaches the tenant's root row going down any of its foreign keys. " +
                    "root-key: in a table with a NOT NULL foreign key straight to the root's key, that key alone decides.",
                ),
            },
            { error: MAPPING },
          )
          .optional()
          .describe('How rows belong to tenants; see docs/postgres.md for the rules.'),
        tables: z
          .record(
            tableName,
            z.strictObject(
              { include: z.enum(['whole', 'exclude'], { error: 'expected whole or exclude' }).describe('whole: copy every row; exclude: never copy.') },
              { error: MAPPING },
            ),
            { error: MAPPING },
          )
          .optional()
          .describe('Per-table rules, keyed by schema.table.'),
        'extra-foreign-keys': list(
          z.strictObject(
            {
              from: columnReference.describe('The referencing table and columns: "schema.table (column, ...)".'),
              to: columnReference.describe('The referenced table and columns: "schema.table (column, ...)".'),
            },
            { error: MAPPING },
          ),
          'expected a list of {from, to} pairs',
        )
          .optional()
          .describe('Relationships the database does not declare, e.g. from: "public.store (manager_staff_id)", to: "public.staff (staff_id)".'),
        tags: list(tag, 'expected a list of tags').optional().describe('Tags added to every snapshot of this source.'),
        repository: name('repository').optional().describe('Repository this source is backed up to; default: default-repository.'),
      },
      { error: MAPPING },
    )
    .describe('Backs up a PostgreSQL database: schema and rows, whole or one tenant at a time.')
    .superRefine(checkPasswordKeys, { when: ({ value }) => isRecord(value) })
    .transform(
      (s): PostgresSourceConfig => ({
        kind: s.kind,
        url: s.url,
        passwordEnv: s['password-env'],
        passwordFile: s['password-file'],
        tenancy: s.tenancy && { root: s.tenancy.root, key: s.tenancy.key, ownership: s.tenancy.ownership },
        tables: mapValues(s.tables ?? {}, (rule) => rule.include),
        extraForeignKeys: (s['extra-foreign-keys'] ?? []).map((fk) => ({
          from: fk.from.table,
          fromColumns: fk.from.columns,
          to: fk.to.table,
          toColumns: fk.to.columns,
        })),
        tags: s.tags ?? [],
        repository: s.repository,
      }),
    );

  const objectsSource = z
    .strictObject(
      {
        kind: z.literal('objects').describe('objects: an S3 bucket prefix or a directory of files, whole or per tenant.'),
        url: repositoryUrl.describe('s3://bucket/prefix or a directory path (relative to this file).'),
        'tenant-prefix': text('expected a key prefix containing {tenant}')
          .refine((prefix) => prefix.includes('{tenant}'), { error: 'expected a key prefix containing {tenant}, e.g. "hotels/{tenant}/"' })
          .optional()
          .describe('Key prefix of one tenant\'s objects, {tenant} standing for the tenant id, e.g. "hotels/{tenant}/".'),
        s3: s3.optional(),
        tags: list(tag, 'expected a list of tags').optional().describe('Tags added to every snapshot of this source.'),
        repository: name('repository').optional().describe('Repository this source is backed up to; default: default-repository.'),
      },
      { error: MAPPING },
    )
    .describe("Backs up objects (with content type and metadata) along with a database source's snapshot.")
    .transform(
      (s): ObjectsSourceConfig => ({ kind: s.kind, url: s.url, tenantPrefix: s['tenant-prefix'], s3: s.s3, tags: s.tags ?? [], repository: s.repository }),
    );

  const tenant = z
    .strictObject(
      {
        id: z
          .union([z.int(), text('expected the tenant id')], { error: 'expected the tenant id (a number or text)' })
          .transform(String)
          .describe("The tenant's id: the value of the tenancy key in the root table."),
        repository: text('expected a repository name or URL').optional().describe("The tenant's own repository: a name from repositories:, or a URL."),
        'password-env': envName.optional().describe("Environment variable holding the password of the tenant's repository."),
        'password-file': localPath('expected a file path', absolute).optional().describe("File holding the password of the tenant's repository."),
      },
      { error: MAPPING },
    )
    .describe('A tenant of the multi-tenant sources.')
    .superRefine(checkPasswordKeys, { when: ({ value }) => isRecord(value) })
    .transform(
      (t): TenantConfig => ({ id: t.id, repository: t.repository, passwordEnv: t['password-env'], passwordFile: t['password-file'] }),
    );

  const source = z
    .discriminatedUnion('kind', [pathsSource, postgresSource, objectsSource], { error: MAPPING })
    .describe('A source: what goes into a snapshot, selected by kind.');

  const retention = z
    .strictObject(
      {
        'keep-last': count('Keep the newest N snapshots.'),
        'keep-hourly': count('Keep the newest snapshot of each of the last N hours that have one.'),
        'keep-daily': count('Keep the newest snapshot of each of the last N days that have one.'),
        'keep-weekly': count('Keep the newest snapshot of each of the last N weeks that have one.'),
        'keep-monthly': count('Keep the newest snapshot of each of the last N months that have one.'),
        'keep-yearly': count('Keep the newest snapshot of each of the last N years that have one.'),
        'keep-within': z
          .string({ error: 'expected a duration such as 30d, 12h, 2y6m or 1w' })
          .regex(DURATION, { error: 'expected a duration such as 30d, 12h, 2y6m or 1w' })
          .transform((d) => parseCalendarDuration(d))
          .optional()
          .describe('Keep every snapshot younger than this calendar duration: y, m (months), w, d, h, e.g. 1y6m.'),
        'keep-tag': list(tag, 'expected a list of tags').optional().describe('Keep every snapshot with one of these tags.'),
        'group-by': list(
          z.enum(GROUP_BY_FIELDS, { error: `expected one of ${GROUP_BY_FIELDS.join(', ')}` }),
          'expected a list of snapshot fields',
        )
          .optional()
          .describe(`Apply the policy separately per group of snapshots with equal fields: ${GROUP_BY_FIELDS.join(', ')}.`),
      },
      { error: MAPPING },
    )
    .describe('The default forget policy: a snapshot is kept when any rule keeps it.')
    .transform(
      (r): RetentionConfig => ({
        keepLast: r['keep-last'],
        keepHourly: r['keep-hourly'],
        keepDaily: r['keep-daily'],
        keepWeekly: r['keep-weekly'],
        keepMonthly: r['keep-monthly'],
        keepYearly: r['keep-yearly'],
        keepWithin: r['keep-within'],
        keepTag: r['keep-tag'] ?? [],
        groupBy: r['group-by'],
      }),
    );

  return z
    .strictObject(
      {
        version: z
          .literal(CONFIG_VERSION, { error: `expected ${CONFIG_VERSION}, the only config version this failsafe understands` })
          .optional()
          .describe(`Config format version; only ${CONFIG_VERSION} exists.`),
        'default-repository': name('repository')
          .optional()
          .describe('Repository used when a command or source names none; default: the only repository, if there is one.'),
        repositories: z
          .record(name('repository'), repository, { error: 'expected a mapping of repository names to repositories' })
          .optional()
          .describe('Repositories by name.'),
        sources: z
          .record(name('source'), source, { error: 'expected a mapping of source names to sources' })
          .optional()
          .describe('Sources by name.'),
        tenants: z
          .record(name('tenant'), tenant, { error: 'expected a mapping of tenant names to tenants' })
          .optional()
          .describe('Tenants by name: their ids and, for escrow copies, their own repositories.'),
        retention: retention.optional(),
      },
      { error: MAPPING },
    )
    .meta({
      title: 'failsafe.yaml',
      description: 'Configuration of failsafe: repositories, sources and the retention policy (docs/config.md).',
    })
    .superRefine(checkRepositoryReferences, { when: ({ value }) => isRecord(value) })
    .transform((c): Config => {
      const repositories = c.repositories ?? {};
      const names = Object.keys(repositories);
      const defaultRepository = c['default-repository'] ?? (names.length === 1 ? names[0] : undefined);
      return {
        version: CONFIG_VERSION,
        defaultRepository,
        repositories: mapValues(repositories, (r) => r),
        sources: mapValues(c.sources ?? {}, (s): SourceConfig => ({ ...s, repository: s.repository ?? defaultRepository })),
        tenants: mapValues(c.tenants ?? {}, (t) => t),
        retention: c.retention,
      };
    });
}

/** The YAML input form of failsafe.yaml (kebab-case keys). */
export type ConfigInput = z.input<ReturnType<typeof configSchema>>;

/**
 * JSON Schema (draft-07, the dialect yaml-language-server reads best) of the YAML input form, for
 * editor completion; `npm run schema` writes it to docs/failsafe.schema.json.
 *
 * @example
 * const schema = configJsonSchema();
 * schema['title'] === 'failsafe.yaml'
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema({ baseDir: '/' }), { io: 'input', target: 'draft-7' });
}

/** {@link configJsonSchema} as the exact text of docs/failsafe.schema.json (two-space indent, final newline). */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
