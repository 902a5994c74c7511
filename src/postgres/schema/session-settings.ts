/**
 * Session settings that make PostgreSQL's printers and the restore agree: with an empty search_path every
 * printed name is schema-qualified, ISO dates and `postgres` intervals read back under any DateStyle.
 */
import type { SqlClient } from '../connection.js';

/** While capturing: names qualified, literals in formats any session parses back. */
export const CAPTURE_SETTINGS: Readonly<Record<string, string>> = {
  search_path: '',
  DateStyle: 'ISO',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  standard_conforming_strings: 'on',
};

/**
 * While restoring: what pg_dump's scripts set. Function bodies are not checked, as their references may be
 * created later or resolve through the caller's search_path; notices about merged constraints are noise.
 */
export const APPLY_SETTINGS: Readonly<Record<string, string>> = {
  search_path: '',
  check_function_bodies: 'off',
  client_min_messages: 'warning',
  standard_conforming_strings: 'on',
};

/**
 * Runs `fn` with `settings` in effect for the session and puts the previous values back afterwards.
 *
 * @example
 * const rows = await withSessionSettings(client, { search_path: '' }, () => client.query('SELECT 1'));
 */
export async function withSessionSettings<T>(client: SqlClient, settings: Readonly<Record<string, string>>, fn: () => Promise<T>): Promise<T> {
  const names = Object.keys(settings);
  const { rows } = await client.query<{ value: string }>(
    'SELECT pg_catalog.current_setting(name) AS value FROM unnest($1::text[]) WITH ORDINALITY AS s(name, i) ORDER BY i',
    [names],
  );
  const previous = rows.map((row) => row.value);
  await setAll(client, names, names.map((name) => settings[name]!));
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    // In an aborted transaction this fails too; the ROLLBACK that follows restores the settings then.
    await setAll(client, names, previous).catch(() => {});
    throw err;
  }
  await setAll(client, names, previous);
  return result;
}

async function setAll(client: SqlClient, names: readonly string[], values: readonly string[]): Promise<void> {
  await client.query('SELECT pg_catalog.set_config(name, value, false) FROM unnest($1::text[], $2::text[]) AS s(name, value)', [names, values]);
}

/** The server's major version (15, 16, ...), for catalog columns that differ between versions. */
export async function serverMajorVersion(client: SqlClient): Promise<number> {
  const { rows } = await client.query<{ version: number }>("SELECT pg_catalog.current_setting('server_version_num')::int / 10000 AS version");
  return rows[0]!.version;
}
