import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatasetGraph } from './dataset-graph.js';
import { defineMigration, type DatasetDefinition, type MigrationDefinition } from './definition.js';

const load = { endpoint: '/records', ids: (response: unknown) => response as number[] };

function dataset(dependsOn: string[] = []): DatasetDefinition<string> {
  return { dependsOn, extract: 'SELECT 1 WHERE $1 IS NOT NULL', key: ['id'], transform: (row) => row, load };
}

function migration(datasets: Record<string, unknown>): MigrationDefinition {
  return { datasets } as MigrationDefinition;
}

describe('DatasetGraph', () => {
  it('orders datasets after what they depend on, keeping the definition order otherwise', () => {
    const graph = DatasetGraph.of(
      migration({ task: dataset(['guest', 'vendor']), guest: dataset(['hotel']), vendor: dataset(['hotel']), hotel: dataset(), note: dataset() }),
      'migration.ts',
    );
    expect(graph.order).toEqual(['hotel', 'guest', 'vendor', 'task', 'note']);
    expect(graph.withDependants('guest')).toEqual(['guest', 'task']);
    expect(graph.withDependants('hotel')).toEqual(['hotel', 'guest', 'vendor', 'task']);
    expect(graph.reaches('task', 'hotel')).toBe(true);
    expect(graph.reaches('hotel', 'task')).toBe(false);
  });

  it('names a cycle, an unknown dataset (with a suggestion) and a missing field', () => {
    expect(() => DatasetGraph.of(migration({ a: dataset(['c']), b: dataset(['a']), c: dataset(['b']), d: dataset() }), 'm.ts')).toThrow(
      'm.ts: datasets depend on each other in a cycle (each on the next): a → c → b → a',
    );
    expect(() => DatasetGraph.of(migration({ self: dataset(['self']) }), 'm.ts')).toThrow('cycle (each on the next): self → self');
    expect(() => DatasetGraph.of(migration({ hotel: dataset(), guest: dataset(['hotle']) }), 'm.ts')).toThrow(
      'm.ts: dataset guest depends on unknown dataset "hotle" (did you mean "hotel"?)',
    );
    expect(() => DatasetGraph.of(migration({ hotel: { ...dataset(), transform: undefined } }), 'm.ts')).toThrow('m.ts: dataset hotel has no transform');
    expect(() => DatasetGraph.of(migration({}), 'm.ts')).toThrow('m.ts: the migration defines no datasets');
  });

  it('finds a cycle exactly when there is one, and otherwise orders every dataset after its dependencies (property)', () => {
    const graphs = fc.integer({ min: 1, max: 8 }).chain((size) =>
      fc.array(fc.subarray([...Array(size).keys()]), { minLength: size, maxLength: size }).map((deps) => deps.map((list) => list.map((i) => `d${i}`))),
    );
    fc.assert(
      fc.property(graphs, (deps) => {
        const definition = migration(Object.fromEntries(deps.map((list, i) => [`d${i}`, dataset(list)])));
        let graph: DatasetGraph | undefined;
        try {
          graph = DatasetGraph.of(definition, 'm.ts');
        } catch (err) {
          const cycle = /\): (.*)$/.exec((err as Error).message)![1]!.split(' → ');
          expect(cycle[0]).toBe(cycle[cycle.length - 1]);
          for (let i = 0; i + 1 < cycle.length; i++) expect(deps[Number(cycle[i]!.slice(1))]).toContain(cycle[i + 1]);
          return;
        }
        expect([...graph.order].sort()).toEqual(deps.map((_, i) => `d${i}`).sort());
        for (const [i, list] of deps.entries()) for (const parent of list) expect(graph.order.indexOf(parent)).toBeLessThan(graph.order.indexOf(`d${i}`));
      }),
    );
  });

  it('rejects misspelled names at compile time', () => {
    const definition = defineMigration({
      datasets: {
        hotel: { extract: 'SELECT * FROM gc_property WHERE property_id = $1', key: ['property_id'], transform: (row) => ({ name: row.prop_name }), load },
        guest: {
          // @ts-expect-error "hotle" is not a dataset
          dependsOn: ['hotle'],
          extract: 'SELECT * FROM gc_guest WHERE property_id = $1',
          key: ['guest_no'],
          // @ts-expect-error "hotle" is not a dataset
          transform: (row, ctx) => ({ hotelId: ctx.ref('hotle', row.property_id) }),
          load,
        },
      },
    });
    expect(() => DatasetGraph.of(definition, 'm.ts')).toThrow('unknown dataset "hotle"');
  });
});
