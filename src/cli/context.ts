/**
 * Per-invocation state of the CLI: global options, the loaded config, the output channels, and the
 * wiring from "which repository, which password" to an opened {@link Repository}. This is the one
 * place where configuration, environment, storage backends and the repository meet.
 */
import { readFile } from 'node:fs/promises';
import { FailsafeError, isSystemError } from '../core/errors.js';
import { loadConfig } from '../config/load-config.js';
import type { Config, RepositoryConfig as ConfiguredRepository, S3Options as ConfiguredS3, TenantConfig } from '../config/schema.js';
import type { ObjectStore } from '../sources/objects/object-store.js';
import { openObjectStore } from '../sources/objects/open-object-store.js';
import { type LockTiming } from '../repository/lock.js';
import { Repository } from '../repository/repository.js';
import { type S3Settings, openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import type { Logger } from './logger.js';
import { Output } from './output.js';
import { ProgressLine } from './progress.js';

export interface GlobalOptions {
  readonly repo?: string;
  readonly passwordFile?: string;
  readonly config?: string;
  readonly json: boolean;
  readonly verbose: number;
  readonly quiet: boolean;
}

/** A repository location with the settings the config gives it (if any). */
export interface RepositoryTarget {
  readonly url: string;
  /** Name in the config file, when the repository is configured there. */
  readonly name: string | undefined;
  readonly settings: ConfiguredRepository | undefined;
}

export class CommandContext {
  readonly options: GlobalOptions;
  readonly output: Output;
  readonly progress: ProgressLine;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  readonly #storages: Storage[] = [];
  readonly #objectStores: ObjectStore[] = [];
  #config: { config: Config; path: string | undefined } | undefined;

  constructor(options: GlobalOptions, logger: Logger, signal: AbortSignal, env: NodeJS.ProcessEnv = process.env) {
    this.options = options;
    this.logger = logger;
    this.signal = signal;
    this.env = env;
    this.output = new Output({ json: options.json });
    this.progress = new ProgressLine(process.stderr, !options.json && !options.quiet);
  }

  /** The config file (`--config`, `FAILSAFE_CONFIG`, `./failsafe.yaml`), or an empty config. */
  async config(): Promise<Config> {
    this.#config ??= await loadConfig({ ...(this.options.config ? { path: this.options.config } : {}), env: this.env });
    return this.#config.config;
  }

  /**
   * Which repository to use: `--repo` (a configured name or a location), `FAILSAFE_REPOSITORY`,
   * `name` (a source's repository), or the config's default repository.
   */
  async repositoryTarget(name?: string): Promise<RepositoryTarget> {
    const config = await this.config();
    const given = this.options.repo ?? this.env.FAILSAFE_REPOSITORY ?? name ?? config.defaultRepository;
    if (!given) {
      throw new FailsafeError('USAGE', 'no repository given', {
        hint: 'pass --repo PATH|s3://bucket/prefix, set FAILSAFE_REPOSITORY, or define repositories in failsafe.yaml',
      });
    }
    return targetFor(given, config);
  }

  /** Opens the storage of a repository target; closed when the command ends. */
  async openStorage(target: RepositoryTarget): Promise<Storage> {
    const settings = target.settings;
    const storage = await openStorage(target.url, {
      env: this.env,
      ...(settings?.connections !== undefined ? { connections: settings.connections } : {}),
      ...(settings?.s3 ? { s3: s3Settings(settings.s3) } : {}),
      retry: {
        ...(settings?.retries !== undefined ? { attempts: settings.retries } : {}),
        signal: this.signal,
        onRetry: ({ operation, subject, attempt, attempts, delayMs, error }) => {
          this.logger.info({ operation, subject, attempt, attempts, delayMs, error: error.message }, 'retrying storage request');
          this.progress.note(`retrying ${operation} ${subject} in ${delayMs} ms (attempt ${attempt + 1}/${attempts}): ${error.message}`);
        },
      },
    });
    this.#storages.push(storage);
    return storage;
  }

  /**
   * The repository password: `--password-file`, then the configured `password-file`/`password-env`
   * of the repository, then `FAILSAFE_PASSWORD_FILE`, then `FAILSAFE_PASSWORD`.
   */
  async password(target: RepositoryTarget): Promise<string> {
    if (this.options.passwordFile) return readSecretFile(this.options.passwordFile, '--password-file');
    const configured = target.settings ? await this.configuredSecret(target.settings, `repository ${target.name}`) : undefined;
    if (configured !== undefined) return configured;
    if (this.env.FAILSAFE_PASSWORD_FILE) return readSecretFile(this.env.FAILSAFE_PASSWORD_FILE, 'FAILSAFE_PASSWORD_FILE');
    if (this.env.FAILSAFE_PASSWORD) return this.env.FAILSAFE_PASSWORD;
    throw new FailsafeError('USAGE', 'no password given', {
      hint: 'set FAILSAFE_PASSWORD or FAILSAFE_PASSWORD_FILE, or pass --password-file; passwords are never taken from the command line',
    });
  }

  /**
   * A secret a config entry names with `password-file` or `password-env`; undefined when it names
   * neither. `owner` says whose it is in messages (`source app-db`).
   */
  async configuredSecret(settings: { readonly passwordFile: string | undefined; readonly passwordEnv: string | undefined }, owner: string): Promise<string | undefined> {
    if (settings.passwordFile) return readSecretFile(settings.passwordFile, `password-file of ${owner}`);
    if (!settings.passwordEnv) return undefined;
    const value = this.env[settings.passwordEnv];
    if (value) return value;
    throw new FailsafeError('USAGE', `environment variable ${settings.passwordEnv} (password-env of ${owner}) is not set`);
  }

  /** The second password of `key add` / `key passwd`: `--new-password-file`, `FAILSAFE_NEW_PASSWORD_FILE`, `FAILSAFE_NEW_PASSWORD`. */
  async newPassword(file: string | undefined): Promise<string> {
    if (file) return readSecretFile(file, '--new-password-file');
    if (this.env.FAILSAFE_NEW_PASSWORD_FILE) return readSecretFile(this.env.FAILSAFE_NEW_PASSWORD_FILE, 'FAILSAFE_NEW_PASSWORD_FILE');
    if (this.env.FAILSAFE_NEW_PASSWORD) return this.env.FAILSAFE_NEW_PASSWORD;
    throw new FailsafeError('USAGE', 'no new password given', {
      hint: 'set FAILSAFE_NEW_PASSWORD or FAILSAFE_NEW_PASSWORD_FILE, or pass --new-password-file',
    });
  }

  /** Opens the repository the options and config point at. */
  async openRepository(name?: string): Promise<Repository> {
    return (await this.startOpeningRepository(name)).repository;
  }

  /**
   * Checks the repository target and finds the password, then opens the repository in the background:
   * deriving the key takes a fifth of a second, which a database backup spends connecting and planning.
   */
  async startOpeningRepository(name?: string): Promise<RepositoryOpening> {
    const target = await this.repositoryTarget(name);
    return opening(this.#open(target, await this.password(target)));
  }

  /**
   * A tenant's own repository (escrow), opened in the background like {@link startOpeningRepository}:
   * its configured repository and password, falling back to the usual resolution for whatever the
   * tenant does not set. `--repo` does not override a tenant's own repository, so one run over several
   * tenants cannot mix their data.
   */
  async startOpeningTenantRepository(tenantName: string, tenant: TenantConfig): Promise<RepositoryOpening> {
    const target = tenant.repository === undefined ? await this.repositoryTarget() : targetFor(tenant.repository, await this.config());
    const password = (await this.configuredSecret(tenant, `tenant ${tenantName}`)) ?? (await this.password(target));
    return opening(this.#open(target, password, tenantName));
  }

  async #open(target: RepositoryTarget, password: string, tenant?: string): Promise<Repository> {
    const repo = await Repository.open(await this.openStorage(target), password, { lockTiming: lockTimingFromEnv(this.env) });
    this.logger.info(
      { repository: repo.storage.location, id: repo.config.id, key: repo.keyId.slice(0, 8), ...(tenant ? { tenant } : {}) },
      tenant ? 'tenant repository opened' : 'repository opened',
    );
    return repo;
  }

  /** An objects source's store (closed with the command). */
  async openObjectStore(url: string, s3: ConfiguredS3 | undefined): Promise<ObjectStore> {
    const store = await openObjectStore(url, { env: this.env, ...(s3 ? { s3: s3Settings(s3) } : {}) });
    this.#objectStores.push(store);
    return store;
  }

  /** Closes every storage opened for this command. */
  async close(): Promise<void> {
    this.progress.done();
    await Promise.allSettled([...this.#storages, ...this.#objectStores].map((storage) => storage.close()));
  }
}

/** Reads a secret from a file; only a trailing line break is removed. */
export async function readSecretFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = isSystemError(err, 'ENOENT') ? 'does not exist' : isSystemError(err, 'EACCES') ? 'is not readable' : 'cannot be read';
    throw new FailsafeError('USAGE', `password file ${path} (${what}) ${reason}`, { cause: err });
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length === 0) throw new FailsafeError('USAGE', `password file ${path} (${what}) is empty`);
  return secret;
}

/**
 * Lock heartbeat and stale times can be shortened for tests and drills with
 * `FAILSAFE_LOCK_REFRESH_SECONDS` and `FAILSAFE_LOCK_STALE_SECONDS`.
 */
function lockTimingFromEnv(env: NodeJS.ProcessEnv): LockTiming | undefined {
  const refresh = Number(env.FAILSAFE_LOCK_REFRESH_SECONDS);
  const stale = Number(env.FAILSAFE_LOCK_STALE_SECONDS);
  if (!(refresh > 0) && !(stale > 0)) return undefined;
  return { refreshMs: (refresh > 0 ? refresh : 300) * 1000, staleMs: (stale > 0 ? stale : 1800) * 1000 };
}

/** A repository being opened; awaiting `repository` gives it, or the reason it could not be opened. */
export interface RepositoryOpening {
  readonly repository: Promise<Repository>;
}

function opening(repository: Promise<Repository>): RepositoryOpening {
  repository.catch(() => {}); // the caller awaits it; until then a failure must not count as unhandled
  return { repository };
}

/** A repository named in the config, one whose URL the config holds, or a bare location. */
function targetFor(given: string, config: Config): RepositoryTarget {
  const settings = config.repositories[given];
  if (settings) return { url: settings.url, name: given, settings };
  const byUrl = Object.entries(config.repositories).find(([, repository]) => repository.url === given);
  return { url: given, name: byUrl?.[0], settings: byUrl?.[1] };
}

function s3Settings(s3: NonNullable<ConfiguredRepository['s3']>): S3Settings {
  return {
    ...(s3.endpoint !== undefined ? { endpoint: s3.endpoint } : {}),
    ...(s3.region !== undefined ? { region: s3.region } : {}),
    ...(s3.pathStyle !== undefined ? { forcePathStyle: s3.pathStyle } : {}),
    ...(s3.profile !== undefined ? { profile: s3.profile } : {}),
  };
}
