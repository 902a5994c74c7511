/**
 * Which database a command talks to, and under which tenancy rules: a configured `postgres` source
 * (`--source NAME`, or the only one), or ad-hoc flags (`--postgres URL --tenant-root T`, declared by
 * `addPostgresSourceOptions` in commands/postgres-source-options.ts). Shared by the commands that read
 * or write databases.
 */
import { FailsafeError } from '../core/errors.js';
import type { PostgresSourceConfig } from '../config/schema.js';
import { parsePostgresUrl, urlHasPassword, type ConnectionSettings } from '../postgres/connection.js';
import type { Ownership, TenancyRules } from '../sources/postgres/tenant-plan.js';
import type { CommandContext } from './context.js';

export interface PostgresSourceOptions {
  readonly source?: string;
  readonly postgres?: string;
  readonly tenantRoot?: string;
  readonly tenantKey?: string;
  readonly tenantOwnership?: Ownership;
}

export interface ResolvedPostgresSource {
  /** The configured source's name, or undefined for flags. */
  readonly name: string | undefined;
  readonly settings: ConnectionSettings;
  /** Undefined when no tenancy is configured or given. */
  readonly tenancy: TenancyRules | undefined;
}

export async function resolvePostgresSource(ctx: CommandContext, options: PostgresSourceOptions): Promise<ResolvedPostgresSource> {
  if (options.postgres) {
    if (options.source) throw new FailsafeError('USAGE', '--postgres and --source cannot be combined');
    const settings = settingsFromFlag(options.postgres, '--postgres');
    const tenancy = options.tenantRoot ? { root: options.tenantRoot, key: options.tenantKey ?? '', ownership: options.tenantOwnership } : undefined;
    return { name: undefined, settings, tenancy };
  }
  const config = await ctx.config();
  const postgresSources = Object.entries(config.sources).filter((entry): entry is [string, PostgresSourceConfig] => entry[1].kind === 'postgres');
  let entry: [string, PostgresSourceConfig] | undefined;
  if (options.source) {
    entry = postgresSources.find(([name]) => name === options.source);
    if (!entry) {
      const names = postgresSources.map(([name]) => name).join(', ') || 'none';
      throw new FailsafeError('USAGE', `no postgres source named "${options.source}" in the config (postgres sources: ${names})`);
    }
  } else if (postgresSources.length === 1) {
    entry = postgresSources[0];
  } else {
    throw new FailsafeError('USAGE', postgresSources.length === 0 ? 'no database given' : 'several postgres sources are configured', {
      hint: postgresSources.length === 0 ? 'give --postgres URL, or define a postgres source in failsafe.yaml' : 'name one with --source',
    });
  }
  const [name, source] = entry!;
  const settings = parsePostgresUrl(source.url);
  const password = await ctx.configuredSecret(source, `source ${name}`);
  const tenancy = source.tenancy
    ? {
        root: source.tenancy.root,
        key: source.tenancy.key,
        ownership: options.tenantOwnership ?? source.tenancy.ownership,
        tables: source.tables,
        extraForeignKeys: source.extraForeignKeys,
      }
    : undefined;
  return { name, settings: password === undefined ? settings : { ...settings, password }, tenancy };
}

/**
 * Connection settings from a URL given on the command line (`flag` names it in messages); a URL with a
 * password in it is refused, since argv is visible to every user of the machine.
 */
export function settingsFromFlag(url: string, flag: string): ConnectionSettings {
  if (urlHasPassword(url)) {
    throw new FailsafeError('USAGE', `the ${flag} URL contains a password, which would be visible to every user of this machine`, {
      hint: 'remove it from the URL and set PGPASSWORD (or use ~/.pgpass)',
    });
  }
  return parsePostgresUrl(url);
}

/** The tenant id for `--tenant`: a name from `tenants:` or the id itself. */
export async function resolveTenantId(ctx: CommandContext, tenant: string): Promise<string> {
  const config = await ctx.config();
  return config.tenants[tenant]?.id ?? tenant;
}
