import type { PathsSourceConfig } from './schema.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isErrorCode } from '../core/errors.js';
import { interpolate } from './interpolate.js';
import { parseConfig } from './parse-config.js';
import type { Config } from './schema.js';

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('interpolate', () => {
  it('replaces set variables', () => {
    expect(interpolate('s3://${BUCKET}/${PREFIX}', { BUCKET: 'acme', PREFIX: 'db' })).toBe('s3://acme/db');
  });

  it('uses the default when the variable is unset or empty, the value otherwise', () => {
    expect(interpolate('${REGION:-eu-west-1}', {})).toBe('eu-west-1');
    expect(interpolate('${REGION:-eu-west-1}', { REGION: '' })).toBe('eu-west-1');
    expect(interpolate('${REGION:-eu-west-1}', { REGION: 'us-east-2' })).toBe('us-east-2');
    expect(interpolate('${EMPTY:-}', {})).toBe('');
    expect(interpolate('${A:-x:-y z}', {})).toBe('x:-y z');
  });

  it('keeps a set but empty variable without default empty', () => {
    expect(interpolate('[${EMPTY}]', { EMPTY: '' })).toBe('[]');
  });

  it('does not interpolate variable values or defaults again', () => {
    expect(interpolate('${A}', { A: '${B}', B: 'no' })).toBe('${B}');
    expect(interpolate('${A:-$${B}', { B: 'no' })).toBe('$${B');
  });

  it('turns $${ into a literal ${ and leaves other dollars alone', () => {
    expect(interpolate('price: $${AMOUNT}', { AMOUNT: '3' })).toBe('price: ${AMOUNT}');
    expect(interpolate('$$${A}', { A: 'x' })).toBe('$${A}');
    expect(interpolate('$HOME $ $$ a$b $', { HOME: '/root' })).toBe('$HOME $ $$ a$b $');
  });

  it('names an unset variable without default', () => {
    const err = errorOf(() => interpolate('s3://${MISSING_BUCKET}/x', {}));
    expect(isErrorCode(err, 'CONFIG')).toBe(true);
    expect(err.message).toBe('environment variable MISSING_BUCKET is not set');
  });

  it('rejects unterminated and malformed references', () => {
    expect(errorOf(() => interpolate('${OPEN', {})).message).toMatch(/^unterminated "\$\{"/);
    expect(errorOf(() => interpolate('${1ABC}', {})).message).toMatch(/^invalid reference "\$\{1ABC\}"/);
    expect(errorOf(() => interpolate('${}', {})).message).toMatch(/^invalid reference/);
    expect(errorOf(() => interpolate('${A-B}', {})).message).toMatch(/^invalid reference/);
  });

  it('is the identity on strings without "${"', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('$', '{', '}', 'a', 'Z', '_', ':', '-', ' ', '\n', 'é') }),
        fc.dictionary(fc.string(), fc.string()),
        (text, env) => {
          fc.pre(!text.includes('${'));
          expect(interpolate(text, env)).toBe(text);
        },
      ),
    );
    fc.assert(fc.property(fc.string(), (text) => {
      fc.pre(!text.includes('${'));
      expect(interpolate(text, { A: 'x' })).toBe(text);
    }));
  });

  it('gives back any text whose "${" are escaped as "$${"', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('$', '{', '}', 'A', ':', '-') }), (text) => {
        expect(interpolate(text.replaceAll('${', () => '$${'), { A: 'x' })).toBe(text);
      }),
    );
  });
});

describe('interpolation in a config file', () => {
  const parse = (text: string, env: Record<string, string>): Config =>
    parseConfig(text, { fileName: 'failsafe.yaml', baseDir: '/etc/failsafe', env });

  it('fills values, reads unquoted numbers and booleans, keeps quoted values strings', () => {
    const config = parse(
      [
        'repositories:',
        '  main:',
        '    url: s3://${BUCKET}/failsafe',
        '    connections: ${CONNECTIONS:-8}',
        '    s3:',
        '      path-style: ${PATH_STYLE}',
        '      region: "${REGION_NUMBER}"',
      ].join('\n'),
      { BUCKET: 'acme-backups', PATH_STYLE: 'true', REGION_NUMBER: '42' },
    );
    const main = config.repositories['main']!;
    expect(main.url).toBe('s3://acme-backups/failsafe');
    expect(main.connections).toBe(8);
    expect(main.s3?.pathStyle).toBe(true);
    expect(main.s3?.region).toBe('42');
  });

  it('reports a quoted number as a string', () => {
    const err = errorOf(() =>
      parse('repositories:\n  main:\n    url: /r\n    connections: "${CONNECTIONS}"\n', { CONNECTIONS: '8' }),
    );
    expect(err.message).toBe(
      'failsafe.yaml:4: repositories.main.connections: expected an integer from 1 to 256, got "8"',
    );
  });

  it('reports every unset variable with its key path and line', () => {
    const err = errorOf(() =>
      parse(
        [
          '# comment',
          'repositories:',
          '  main:',
          '    url: ${REPO_URL}',
          '    password-file: ${SECRETS_DIR}/main.pass',
          'sources:',
          '  app:',
          '    kind: paths',
          '    paths: [/srv, "${DATA_DIR}/x"]',
        ].join('\n'),
        { SECRETS_DIR: '/run/secrets' },
      ),
    );
    expect(isErrorCode(err, 'CONFIG')).toBe(true);
    expect(err.message).toBe(
      [
        'failsafe.yaml:4: repositories.main.url: environment variable REPO_URL is not set',
        'failsafe.yaml:9: sources.app.paths[1]: environment variable DATA_DIR is not set',
      ].join('\n'),
    );
  });

  it('cannot inject YAML through a variable', () => {
    const config = parse('repositories:\n  main:\n    url: ${EVIL}\n', {
      EVIL: '/tmp/x"\n    connections: 1\n  other: {url: /y}',
    });
    expect(Object.keys(config.repositories)).toEqual(['main']);
    expect(config.repositories['main']!.url).toBe('/tmp/x"\n    connections: 1\n  other: {url: /y}');
    expect(config.repositories['main']!.connections).toBeUndefined();
  });

  it('leaves keys alone', () => {
    const err = errorOf(() => parse('${KEY}: 1\n', { KEY: 'version' }));
    expect(err.message).toBe('failsafe.yaml:1: unknown key "${KEY}"');
  });

  it('interpolates anchored values once for every alias', () => {
    const config = parse(
      [
        'sources:',
        '  a:',
        '    kind: paths',
        '    paths: &data ["${DATA}/a"]',
        '  b:',
        '    kind: paths',
        '    paths: *data',
      ].join('\n'),
      { DATA: '/data' },
    );
    expect((config.sources['a'] as PathsSourceConfig).paths).toEqual(['/data/a']);
    expect((config.sources['b'] as PathsSourceConfig).paths).toEqual(['/data/a']);
  });
});
