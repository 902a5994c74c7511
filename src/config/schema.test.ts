import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from '../core/did-you-mean.js';
import { parseConfig } from './parse-config.js';
import { configJsonSchema, configJsonSchemaText } from './schema.js';

const root = new URL('../../', import.meta.url);

describe('JSON Schema', () => {
  it('docs/failsafe.schema.json is up to date', async () => {
    const committed = await readFile(new URL('docs/failsafe.schema.json', root), 'utf8');
    expect(
      committed === configJsonSchemaText(),
      'docs/failsafe.schema.json differs from the zod schema: run `npm run schema` and commit the result',
    ).toBe(true);
  });

  it('describes every property and rejects unknown keys', () => {
    const undescribed: string[] = [];
    const open: string[] = [];
    const visit = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      if (schema['type'] === 'object' && schema['properties'] !== undefined && schema['additionalProperties'] !== false) {
        open.push(path);
      }
      for (const [name, property] of Object.entries((schema['properties'] ?? {}) as Record<string, unknown>)) {
        if (typeof (property as Record<string, unknown>)['description'] !== 'string') undescribed.push(`${path}.${name}`);
      }
      for (const [key, child] of Object.entries(schema)) {
        if (Array.isArray(child)) child.forEach((item, i) => visit(item, `${path}/${key}[${i}]`));
        else visit(child, `${path}/${key}`);
      }
    };
    const schema = configJsonSchema();
    visit(schema, '');
    expect(undescribed).toEqual([]);
    expect(open).toEqual([]);
    expect(schema['description']).toBeTypeOf('string');
    expect(Object.keys(schema['properties'] as object)).toEqual([
      'version',
      'default-repository',
      'repositories',
      'sources',
      'tenants',
      'retention',
    ]);
  });
});

describe('docs/config.md', () => {
  it('has a complete example that is a valid config', async () => {
    const text = await readFile(new URL('docs/config.md', root), 'utf8');
    const examples = [...text.matchAll(/```yaml\n([^]*?)```/g)].map((match) => match[1]!);
    expect(examples.length).toBeGreaterThan(0);
    const full = parseConfig(examples[0]!, {
      fileName: 'docs/config.md',
      baseDir: '/etc/failsafe',
      env: { MINIO_ENDPOINT: 'https://minio.internal:9000' },
    });
    expect(Object.keys(full.repositories).length).toBeGreaterThan(0);
    expect(Object.keys(full.sources).length).toBeGreaterThan(0);
    expect(full.retention).toBeDefined();
  });
});

describe('did you mean', () => {
  it('measures edits, counting a swap of neighbours as one', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('main', 'main')).toBe(0);
    expect(editDistance('mian', 'main')).toBe(1);
    expect(editDistance('connections', 'connection')).toBe(1);
    expect(editDistance('retries', 'retry')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests only plausible typos', () => {
    expect(closestMatch('pasword-env', ['password-env', 'password-file'])).toBe('password-env');
    expect(closestMatch('passwordEnv', ['password-env', 'password-file'])).toBe('password-env');
    expect(closestMatch('kepp-last', ['keep-last', 'keep-tag'])).toBe('keep-last');
    expect(closestMatch('compression', ['url', 'connections', 'retries'])).toBeUndefined();
    expect(closestMatch('x', ['s3'])).toBeUndefined();
  });
});
