/**
 * The config layer: reads failsafe.yaml once, at the boundary, into a frozen, typed {@link Config}.
 *
 * Glossary
 * - **config file**: one `failsafe.yaml`, kept in git. Found via `--config`, else `FAILSAFE_CONFIG`,
 *   else `./failsafe.yaml`; without one every command works from flags alone (an empty config).
 * - **repository**: a named place where encrypted snapshots are stored (`s3://bucket/prefix` or a
 *   directory), with how to get its password (`password-env` / `password-file`) and storage tuning.
 * - **default repository**: used when a command or source names none; `default-repository`, or the
 *   only repository when exactly one is defined.
 * - **source**: a named description of what goes into a snapshot, discriminated by `kind`
 *   (`paths` today; `postgres` and `objects` later). The name is recorded with each snapshot.
 * - **retention**: the default forget policy (`keep-*` rules and `group-by`).
 * - **interpolation**: `${VAR}` / `${VAR:-default}` in string values, replaced from the environment
 *   after YAML parsing; `$${` is a literal `${`.
 * - **problem**: one line of a config error: `file:line: key.path: message`.
 *
 * YAML keys are kebab-case; the {@link Config} the program sees is camelCase. Names chosen by the user
 * (repositories, sources) are never case-converted. The full reference is docs/config.md.
 */
export { ConfigError, formatProblem } from './config-error.js';
export type { ConfigProblem } from './config-error.js';
export { interpolate } from './interpolate.js';
export type { Environment } from './interpolate.js';
export { DEFAULT_CONFIG_FILE, EMPTY_CONFIG, loadConfig } from './load-config.js';
export type { LoadConfigOptions, LoadedConfig } from './load-config.js';
export { parseConfig } from './parse-config.js';
export type { ParseConfigOptions } from './parse-config.js';
export {
  CONFIG_VERSION,
  DEFAULT_PASSWORD_ENV,
  GROUP_BY_FIELDS,
  configJsonSchema,
  configJsonSchemaText,
  configSchema,
} from './schema.js';
export type {
  Config,
  ConfigInput,
  ConfigSchemaOptions,
  GroupByField,
  PathsSourceConfig,
  RepositoryConfig,
  RetentionConfig,
  S3Options,
  SourceConfig,
} from './schema.js';
