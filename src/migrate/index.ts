/**
 * failsafe's migration engine (docs/migration.md), and what a `migration.ts` imports from
 * `failsafe/migrate`.
 *
 * Glossary: a *migration* defines datasets; a *dataset* is one kind of target record, extracted per
 * tenant from the source, turned into records by `transform`, *staged* in the staging database, then
 * *loaded* into a *target*; a *source key* identifies a source row within its dataset; a *reference*
 * (`ctx.ref('guest', key)`) stands for the target id of a record of an earlier dataset; the *key map*
 * holds the target id each loaded record got; a *dead letter* is a record that could not be built or
 * that the target rejected.
 */
export {
  defineMigration,
  EnrichError,
  type DatasetDefinition,
  type EnrichSpec,
  type HttpLoadSpec,
  type HttpTarget,
  type LoadSpec,
  type PostgresSource,
  type PostgresTarget,
  type TableLoadSpec,
  type MigrationDefinition,
  type Reference,
  type SourceKey,
  type SourceRow,
  type TargetRecord,
  type TransformContext,
} from './definition.js';
