import type { PathsSourceConfig } from './schema.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailsafeError, isErrorCode } from '../core/errors.js';
import { EMPTY_CONFIG, loadConfig } from './load-config.js';
import { parseConfig } from './parse-config.js';
import type { Config } from './schema.js';

const FULL_EXAMPLE = `# yaml-language-server: $schema=./docs/failsafe.schema.json
version: 1
default-repository: main
repositories:
  main:
    url: s3://acme-backups/failsafe
    password-env: MAIN_REPO_PASSWORD
    s3:
      endpoint: https://minio.internal:9000
      region: eu-west-1
      path-style: true
      profile: backup
    connections: 8
    retries: 8
  local:
    url: ./repo
    password-file: secrets/local.pass
sources:
  app-files:
    kind: paths
    paths: [/srv/app/uploads, ./etc]
    exclude: ["*.tmp", "cache/"]
    tags: [files]
    repository: main
  Home.Dir:
    kind: paths
    paths:
      - ../home
    repository: local
  logs:
    kind: paths
    paths: [/var/log]
retention:
  keep-last: 3
  keep-hourly: 24
  keep-daily: 7
  keep-weekly: 4
  keep-monthly: 12
  keep-yearly: 3
  keep-within: 30d
  keep-tag: [pinned]
  group-by: [host, paths]
`;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'failsafe-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<FailsafeError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FailsafeError);
    return err as FailsafeError;
  }
  throw new Error('expected a rejection');
}

describe('loadConfig', () => {
  it('loads a full example into camelCase, resolving relative paths against the file', async () => {
    await mkdir(join(dir, 'conf'));
    await writeFile(join(dir, 'conf', 'failsafe.yaml'), FULL_EXAMPLE);
    const { config, path } = await loadConfig({ path: 'conf/failsafe.yaml', cwd: dir, env: {} });
    expect(path).toBe(join(dir, 'conf', 'failsafe.yaml'));
    const expected: Config = {
      version: 1,
      defaultRepository: 'main',
      repositories: {
        main: {
          url: 's3://acme-backups/failsafe',
          passwordEnv: 'MAIN_REPO_PASSWORD',
          passwordFile: undefined,
          s3: { endpoint: 'https://minio.internal:9000', region: 'eu-west-1', pathStyle: true, profile: 'backup' },
          connections: 8,
          retries: 8,
        },
        local: {
          url: join(dir, 'conf', 'repo'),
          passwordEnv: undefined,
          passwordFile: join(dir, 'conf', 'secrets', 'local.pass'),
          s3: undefined,
          connections: undefined,
          retries: undefined,
        },
      },
      sources: {
        'app-files': {
          kind: 'paths',
          paths: ['/srv/app/uploads', join(dir, 'conf', 'etc')],
          exclude: ['*.tmp', 'cache/'],
          tags: ['files'],
          repository: 'main',
        },
        'Home.Dir': { kind: 'paths', paths: [join(dir, 'home')], exclude: [], tags: [], repository: 'local' },
        logs: { kind: 'paths', paths: ['/var/log'], exclude: [], tags: [], repository: 'main' },
      },
      tenants: {},
      retention: {
        keepLast: 3,
        keepHourly: 24,
        keepDaily: 7,
        keepWeekly: 4,
        keepMonthly: 12,
        keepYearly: 3,
        keepWithin: { years: 0, months: 0, days: 30, hours: 0 },
        keepTag: ['pinned'],
        groupBy: ['host', 'paths'],
      },
    };
    expect(config).toEqual(expected);
    expect(Object.keys(config.sources)).toEqual(['app-files', 'Home.Dir', 'logs']);
  });

  it('returns a deeply frozen config', async () => {
    await writeFile(join(dir, 'failsafe.yaml'), FULL_EXAMPLE);
    const { config } = await loadConfig({ cwd: dir, env: {} });
    const mutations: (() => void)[] = [
      () => Object.assign(config, { defaultRepository: 'local' }),
      () => Object.assign(config.repositories, { evil: config.repositories['main'] }),
      () => Object.assign(config.repositories['main']!, { url: '/tmp/x' }),
      () => Object.assign(config.repositories['main']!.s3!, { region: 'us-east-1' }),
      () => ((config.sources['app-files'] as PathsSourceConfig).paths as string[]).push('/etc'),
      () => Object.assign(config.retention!.keepWithin!, { days: 1 }),
      () => (config.retention!.groupBy as string[]).pop(),
    ];
    for (const mutate of mutations) expect(mutate).toThrow(TypeError);
    expect(config.repositories['main']!.url).toBe('s3://acme-backups/failsafe');
    expect(Object.isFrozen(EMPTY_CONFIG) && Object.isFrozen(EMPTY_CONFIG.repositories)).toBe(true);
  });

  it('does not find Object methods under user-chosen names', () => {
    const config = parseConfig('repositories:\n  main:\n    url: /r\n', { fileName: 'f', baseDir: '/' });
    expect(config.repositories['constructor']).toBeUndefined();
    expect(config.sources['toString']).toBeUndefined();
    expect(EMPTY_CONFIG.repositories['hasOwnProperty']).toBeUndefined();
  });

  it('prefers the path argument, then FAILSAFE_CONFIG, then ./failsafe.yaml', async () => {
    await writeFile(join(dir, 'failsafe.yaml'), 'repositories:\n  cwd:\n    url: /cwd\n');
    await writeFile(join(dir, 'env.yaml'), 'repositories:\n  env:\n    url: /env\n');
    await writeFile(join(dir, 'arg.yaml'), 'repositories:\n  arg:\n    url: /arg\n');
    const names = async (options: Parameters<typeof loadConfig>[0]): Promise<string[]> =>
      Object.keys((await loadConfig(options)).config.repositories);

    expect(await names({ path: 'arg.yaml', cwd: dir, env: { FAILSAFE_CONFIG: 'env.yaml' } })).toEqual(['arg']);
    expect(await names({ cwd: dir, env: { FAILSAFE_CONFIG: join(dir, 'env.yaml') } })).toEqual(['env']);
    expect(await names({ cwd: dir, env: { FAILSAFE_CONFIG: '' } })).toEqual(['cwd']);
    expect(await names({ cwd: dir, env: {} })).toEqual(['cwd']);
  });

  it('returns the empty config when no file is given and ./failsafe.yaml does not exist', async () => {
    const loaded = await loadConfig({ cwd: dir, env: {} });
    expect(loaded).toEqual({ config: EMPTY_CONFIG, path: undefined });
    expect(loaded.config).toEqual({
      version: 1,
      defaultRepository: undefined,
      repositories: {},
      sources: {},
      tenants: {},
      retention: undefined,
    });
  });

  it('reads an empty or comment-only file as the empty config', async () => {
    await writeFile(join(dir, 'failsafe.yaml'), '# nothing configured yet\n');
    const { config, path } = await loadConfig({ cwd: dir, env: {} });
    expect(config).toEqual(EMPTY_CONFIG);
    expect(path).toBe(join(dir, 'failsafe.yaml'));
  });

  it('fails when a file named explicitly does not exist', async () => {
    const byArgument = await rejection(loadConfig({ path: 'missing.yaml', cwd: dir, env: {} }));
    expect(isErrorCode(byArgument, 'CONFIG')).toBe(true);
    expect(byArgument.message).toBe('config file missing.yaml not found');

    const byEnv = await rejection(loadConfig({ cwd: dir, env: { FAILSAFE_CONFIG: '/nonexistent/failsafe.yaml' } }));
    expect(isErrorCode(byEnv, 'CONFIG')).toBe(true);
    expect(byEnv.message).toBe('config file /nonexistent/failsafe.yaml (from FAILSAFE_CONFIG) not found');
  });

  it('fails when the config path is a directory', async () => {
    await mkdir(join(dir, 'failsafe.yaml'));
    const err = await rejection(loadConfig({ cwd: dir, env: {} }));
    expect(isErrorCode(err, 'CONFIG')).toBe(true);
    expect(err.message).toBe('config file failsafe.yaml is a directory');
  });

  it('names the file as given in problems', async () => {
    await mkdir(join(dir, 'conf'));
    await writeFile(join(dir, 'conf', 'backup.yaml'), 'version: 1\nretention:\n  keep-daily: seven\n');
    const err = await rejection(loadConfig({ path: 'conf/backup.yaml', cwd: dir, env: {} }));
    expect(err.message).toBe(
      'conf/backup.yaml:3: retention.keep-daily: expected a whole number (-1 means unlimited), got "seven"',
    );
  });

  it('interpolates from the given environment', async () => {
    await writeFile(join(dir, 'failsafe.yaml'), 'repositories:\n  main:\n    url: ${REPO_DIR:-./repo}\n');
    const withDefault = await loadConfig({ cwd: dir, env: {} });
    expect(withDefault.config.repositories['main']!.url).toBe(join(dir, 'repo'));
    const fromEnv = await loadConfig({ cwd: dir, env: { REPO_DIR: '/mnt/backup' } });
    expect(fromEnv.config.repositories['main']!.url).toBe('/mnt/backup');
  });
});

describe('defaults', () => {
  const parse = (text: string): Config => parseConfig(text, { fileName: 'f', baseDir: '/etc/failsafe' });

  it('uses the only repository as the default repository, for sources too', () => {
    const config = parse('repositories:\n  only:\n    url: /r\nsources:\n  s:\n    kind: paths\n    paths: [/a]\n');
    expect(config.defaultRepository).toBe('only');
    expect(config.sources['s']!.repository).toBe('only');
  });

  it('leaves the default repository unset when there are several and none is named', () => {
    const config = parse(
      'repositories:\n  a:\n    url: /a\n  b:\n    url: /b\nsources:\n  s:\n    kind: paths\n    paths: [/x]\n',
    );
    expect(config.defaultRepository).toBeUndefined();
    expect(config.sources['s']!.repository).toBeUndefined();
  });

  it('keeps absolute paths and resolves relative ones against the base directory', () => {
    const config = parse(
      'repositories:\n  r:\n    url: ../repo\nsources:\n  s:\n    kind: paths\n    paths: [., data, /abs, ../up]\n',
    );
    expect(config.repositories['r']!.url).toBe('/etc/repo');
    expect((config.sources['s'] as PathsSourceConfig).paths).toEqual(['/etc/failsafe', '/etc/failsafe/data', '/abs', '/etc/up']);
  });
});
