import { describe, expect, it } from 'vitest';
import { FailsafeError } from '../core/errors.js';
import { ConfigError } from './config-error.js';
import { parseConfig } from './parse-config.js';

/** The error lines for `lines` of failsafe.yaml, which must be invalid. */
function problems(lines: readonly string[], env: Record<string, string> = {}): string[] {
  try {
    parseConfig(lines.join('\n'), { fileName: 'failsafe.yaml', baseDir: '/etc/failsafe', env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(FailsafeError);
    expect((err as FailsafeError).code).toBe('CONFIG');
    return (err as Error).message.split('\n');
  }
  throw new Error('expected the config to be rejected');
}

const MAIN = ['repositories:', '  main:', '    url: s3://acme-backups/failsafe'];

describe('config errors name the file line and key path', () => {
  it('reports a wrong type with the value', () => {
    expect(problems([...MAIN, '    connections: eight'])).toEqual([
      'failsafe.yaml:4: repositories.main.connections: expected an integer from 1 to 256, got "eight"',
    ]);
  });

  it('reports values out of range', () => {
    expect(problems([...MAIN, '    connections: 0', '    retries: 101'])).toEqual([
      'failsafe.yaml:4: repositories.main.connections: expected an integer from 1 to 256, got 0',
      'failsafe.yaml:5: repositories.main.retries: expected an integer from 1 to 100, got 101',
    ]);
    expect(problems([...MAIN, '    connections: 2.5'])).toEqual([
      'failsafe.yaml:4: repositories.main.connections: expected an integer from 1 to 256, got 2.5',
    ]);
  });

  it('reports unknown keys at their own line, with a suggestion when one is close', () => {
    expect(
      problems([
        'version: 1',
        ...MAIN,
        '    pasword-env: MAIN_PASSWORD',
        '    compression: max',
        'retention:',
        '  keep-dayly: 7',
        'sources: {}',
        'hosts: []',
      ]),
    ).toEqual([
      'failsafe.yaml:5: repositories.main: unknown key "pasword-env" (did you mean "password-env"?)',
      'failsafe.yaml:6: repositories.main: unknown key "compression"',
      'failsafe.yaml:8: retention: unknown key "keep-dayly" (did you mean "keep-daily"?)',
      'failsafe.yaml:10: unknown key "hosts"',
    ]);
  });

  it('suggests keys of the right source kind', () => {
    expect(problems(['sources:', '  app:', '    kind: paths', '    paths: [/srv]', '    exclued: ["*.tmp"]'])).toEqual([
      'failsafe.yaml:5: sources.app: unknown key "exclued" (did you mean "exclude"?)',
    ]);
  });

  it('reports a missing required key at the line of its parent', () => {
    expect(problems(['repositories:', '  main:', '    connections: 4', '  offsite:', '    url: /mnt/offsite'])).toEqual([
      'failsafe.yaml:2: repositories.main: missing required key "url"',
    ]);
  });

  it('reports an unknown or missing source kind', () => {
    expect(
      problems(['sources:', '  app:', '    kind: pahts', '    paths: [/srv]', '  db:', '    paths: [/var/lib/db]']),
    ).toEqual([
      'failsafe.yaml:3: sources.app.kind: expected one of: paths, postgres, objects, got "pahts" (did you mean "paths"?)',
      'failsafe.yaml:5: sources.db: missing required key "kind" (one of: paths, postgres, objects)',
    ]);
  });

  it('reports an unknown tenancy ownership rule', () => {
    expect(
      problems(['sources:', '  db:', '    kind: postgres', '    url: postgres://app@db/app', '    tenancy: { root: public.hotel, key: id, ownership: rootkey }']),
    ).toEqual(['failsafe.yaml:5: sources.db.tenancy.ownership: expected reach or root-key, got "rootkey" (did you mean "root-key"?)']);
  });

  it('reports references to repositories that do not exist', () => {
    expect(
      problems([
        'default-repository: mian',
        ...MAIN,
        '  offsite:',
        '    url: /mnt/offsite',
        'sources:',
        '  app:',
        '    kind: paths',
        '    paths: [/srv]',
        '    repository: elsewhere',
      ]),
    ).toEqual([
      'failsafe.yaml:1: default-repository: no repository named "mian" (did you mean "main"?)',
      'failsafe.yaml:11: sources.app.repository: no repository named "elsewhere" (defined: main, offsite)',
    ]);
    expect(problems(['default-repository: main'])).toEqual([
      'failsafe.yaml:1: default-repository: no repository named "main" (no repositories are defined)',
    ]);
  });

  it('reports cross-field problems together with the other problems', () => {
    expect(
      problems([
        ...MAIN,
        '    password-env: MAIN_PASSWORD',
        '    password-file: /etc/failsafe/main.pass',
        '    retries: many',
        'default-repository: nope',
      ]),
    ).toEqual([
      'failsafe.yaml:5: repositories.main.password-file: set either password-env or password-file, not both',
      'failsafe.yaml:6: repositories.main.retries: expected an integer from 1 to 100, got "many"',
      'failsafe.yaml:7: default-repository: no repository named "nope" (defined: main)',
    ]);
  });

  it('never echoes values of secret-looking keys', () => {
    const lines = problems([...MAIN, '    password-env: correct horse battery staple']);
    expect(lines).toEqual([
      'failsafe.yaml:4: repositories.main.password-env: expected the name of an environment variable ' +
        '(letters, digits and "_", not starting with a digit)',
    ]);
    expect(lines.join('\n')).not.toContain('horse');
    expect(problems([...MAIN, '    password-file: [hunter2]']).join('\n')).not.toContain('hunter2');
  });

  it('shortens long values', () => {
    expect(problems([...MAIN, `    connections: ${'x'.repeat(100)}`])).toEqual([
      `failsafe.yaml:4: repositories.main.connections: expected an integer from 1 to 256, got "${'x'.repeat(39)}…"`,
    ]);
  });

  it('reports collections by kind', () => {
    expect(problems([...MAIN, '    s3: [a]', 'sources:'])).toEqual([
      'failsafe.yaml:4: repositories.main.s3: expected a mapping (indented "key: value" lines), got a list',
      'failsafe.yaml:5: sources: expected a mapping of source names to sources, got null',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(problems(['repositories:', '  main:', '    url: a: b'])).toEqual([
      'failsafe.yaml:3:10: Nested mappings are not allowed in compact mappings',
    ]);
    expect(problems(['version: 1', 'repositories: @main'])).toEqual([
      'failsafe.yaml:2:15: Plain value cannot start with reserved character @',
    ]);
    expect(problems(['version: 1', 'repositories: {}', 'version: 1'])).toEqual([
      'failsafe.yaml:3:1: Map keys must be unique',
    ]);
    expect(problems(['version: 1', '---', 'version: 1'])[0]).toMatch(/^failsafe\.yaml:2:1: .*multiple documents/);
  });

  it('reports a top level that is not a mapping', () => {
    expect(problems(['- url: /x'])).toEqual([
      'failsafe.yaml:1: expected a mapping (indented "key: value" lines), got a list',
    ]);
  });

  it('reports unsupported versions and repository URLs', () => {
    expect(
      problems(['version: 2', 'repositories:', '  a:', '    url: gs://bucket/x', '  b:', '    url: s3://Bad_Bucket/x']),
    ).toEqual([
      'failsafe.yaml:1: version: expected 1, the only config version this failsafe understands, got 2',
      'failsafe.yaml:4: repositories.a.url: unsupported URL scheme "gs://" (use s3://bucket/prefix or a directory path)',
      'failsafe.yaml:6: repositories.b.url: expected s3://bucket/prefix with a valid bucket name',
    ]);
  });

  it('rejects "~" in paths instead of resolving it against the config directory', () => {
    expect(
      problems([
        'repositories:',
        '  main:',
        '    url: ~/backups',
        '    password-file: ~/main.pass',
        'sources:',
        '  home:',
        '    kind: paths',
        '    paths: [/etc, ~/data]',
      ]),
    ).toEqual([
      'failsafe.yaml:3: repositories.main.url: "~" is not expanded here: write ${HOME}/... instead',
      'failsafe.yaml:4: repositories.main.password-file: "~" is not expanded here: write ${HOME}/... instead',
      'failsafe.yaml:8: sources.home.paths[1]: "~" is not expanded here: write ${HOME}/... instead',
    ]);
  });

  it('reports invalid names at the line of the name', () => {
    expect(problems(['repositories:', '  main:', '    url: /r', '  "off site":', '    url: /o'])).toEqual([
      'failsafe.yaml:4: repositories: invalid name "off site": a repository name uses letters, digits, ".", "_" ' +
        'and "-" and starts with a letter or digit',
    ]);
  });

  it('reports invalid list items by index', () => {
    expect(
      problems(['sources:', '  app:', '    kind: paths', '    paths:', '      - /srv', '      - ""', '    tags: [a b]']),
    ).toEqual([
      'failsafe.yaml:6: sources.app.paths[1]: expected a path, got ""',
      'failsafe.yaml:7: sources.app.tags[0]: expected a tag without spaces or commas, got "a b"',
    ]);
  });

  it('reports invalid retention rules', () => {
    expect(
      problems(['retention:', '  keep-last: -2', '  keep-within: 30 days', '  group-by: [host, pahts]', '  keep-tag: pinned']),
    ).toEqual([
      'failsafe.yaml:2: retention.keep-last: expected a whole number (-1 means unlimited), got -2',
      'failsafe.yaml:3: retention.keep-within: expected a duration such as 30d, 12h, 2y6m or 1w, got "30 days"',
      'failsafe.yaml:4: retention.group-by[1]: expected one of host, paths, tags, source, tenant, got "pahts" ' +
        '(did you mean "paths"?)',
      'failsafe.yaml:5: retention.keep-tag: expected a list of tags, got "pinned"',
    ]);
  });

  it('keeps every problem as structured data, sorted by line', () => {
    try {
      parseConfig(['retention:', '  keep-last: x', 'version: 3'].join('\n'), { fileName: 'conf/f.yaml', baseDir: '/' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        {
          file: 'conf/f.yaml',
          line: 2,
          column: undefined,
          path: 'retention.keep-last',
          message: 'expected a whole number (-1 means unlimited), got "x"',
        },
        {
          file: 'conf/f.yaml',
          line: 3,
          column: undefined,
          path: 'version',
          message: 'expected 1, the only config version this failsafe understands, got 3',
        },
      ]);
      expect((err as ConfigError).hint).toContain('docs/config.md');
    }
  });
});
