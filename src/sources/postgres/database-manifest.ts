/**
 * The manifest of a database snapshot (`<source>/manifest.json` in the snapshot tree): what was read,
 * when, and what every table's rows must look like after a restore. Format in docs/postgres.md.
 */
import { z } from 'zod';
import { FailsafeError } from '../../core/errors.js';
import { parseStoredJson } from '../../repository/content.js';

export const DATABASE_MANIFEST_VERSION = 1;

const tableEntry = z.object({
  /** `schema.table`. */
  name: z.string(),
  schema: z.string(),
  table: z.string(),
  /** Path of the COPY file, relative to the source directory. */
  file: z.string(),
  /** Columns in COPY order (generated columns are not copied). */
  columns: z.array(z.string()),
  key: z.array(z.string()),
  role: z.string(),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** SHA-256 (hex) of the COPY text, rows in key order, with the session settings below. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const manifestSchema = z.object({
  format: z.literal('failsafe-postgres'),
  version: z.number().int().min(1),
  server: z.object({ version: z.string(), versionNum: z.number().int() }),
  database: z.string(),
  /** When the exported snapshot was taken (server clock). */
  snapshotTime: z.string(),
  /** WAL position of the snapshot (replay position on a standby). */
  lsn: z.string(),
  tenant: z
    .object({
      id: z.string(),
      root: z.string(),
      key: z.string(),
      /** Set when the plan ran with `root-key` ownership (absent: `reach`). */
      ownership: z.literal('root-key').optional(),
      /** Set when references into other tenants' rows were nulled or their rows skipped. */
      onCrossTenant: z.enum(['nullify', 'skip-row']).optional(),
      otherTenantsRows: z.number().int().optional(),
      skippedRows: z.number().int().optional(),
    })
    .nullable(),
  /** Session settings the COPY text was produced with; verification must use the same. */
  settings: z.record(z.string(), z.string()),
  tables: z.array(tableEntry),
  /** Tables the tenant plan left out, with the reason (for people). */
  skipped: z.array(z.object({ name: z.string(), role: z.string(), reason: z.string() })),
});

export type DatabaseManifest = z.infer<typeof manifestSchema>;
export type ManifestTable = z.infer<typeof tableEntry>;

/** Settings that make COPY's text the same on every server and client: dates, floats, bytea, encoding. */
export const STABLE_OUTPUT_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  DateStyle: 'ISO, YMD',
  TimeZone: 'UTC',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
  client_encoding: 'UTF8',
  search_path: '',
});

/** `SET` statements for {@link STABLE_OUTPUT_SETTINGS} (or a manifest's settings). */
export function settingsSql(settings: Readonly<Record<string, string>> = STABLE_OUTPUT_SETTINGS): string {
  return Object.entries(settings)
    .map(([name, value]) => `SET ${name} = '${value.replaceAll("'", "''")}'`)
    .join('; ');
}

/** COPY text ends every row with a newline byte; newlines inside values are escaped as `\n`. */
export function countNewlines(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count++;
  return count;
}

/** File name of a table's rows: `tables/<schema>.<table>.copy`, with `/` and `%` escaped. */
export function tableFileName(schema: string, table: string): string {
  const escape = (part: string): string => part.replaceAll('%', '%25').replaceAll('/', '%2F').replaceAll('\0', '%00');
  return `tables/${escape(schema)}.${escape(table)}.copy`;
}

export function parseDatabaseManifest(bytes: Buffer, where: string): DatabaseManifest {
  const result = manifestSchema.safeParse(parseStoredJson(bytes, `${where}: manifest`));
  if (!result.success) throw new FailsafeError('CORRUPT', `${where}: manifest is malformed: ${result.error.issues[0]?.message ?? ''}`);
  if (result.data.version > DATABASE_MANIFEST_VERSION) {
    throw new FailsafeError('CORRUPT', `${where}: manifest version ${result.data.version} is newer than this failsafe understands`, {
      hint: 'upgrade failsafe',
    });
  }
  return result.data;
}
