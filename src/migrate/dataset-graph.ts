/**
 * The datasets of a migration as a graph: checked once when a migration file is loaded (names, shapes,
 * cycles), then asked for the order to stage and load in and for a dataset's dependants
 * (`--only guest+`).
 */
import { didYouMean } from '../core/did-you-mean.js';
import { FailsafeError } from '../core/errors.js';
import type { MigrationDefinition } from './definition.js';

export class DatasetGraph {
  /** Every dataset, each after the datasets it depends on; ties keep the definition's order. */
  readonly order: readonly string[];
  readonly #dependsOn: ReadonlyMap<string, readonly string[]>;

  private constructor(order: readonly string[], dependsOn: ReadonlyMap<string, readonly string[]>) {
    this.order = order;
    this.#dependsOn = dependsOn;
  }

  /**
   * Checks a definition loaded from `file` (named in errors): a `CONFIG` error names the first
   * problem (a dataset missing `extract`, `key`, `transform` or `load`; an unknown dataset in
   * `dependsOn`; a cycle, as `a → b → a`, each depending on the next).
   *
   * @example const graph = DatasetGraph.of(definition, 'migration.ts'); for (const name of graph.order) ...
   */
  static of(definition: MigrationDefinition, file: string): DatasetGraph {
    const datasets = (definition as { datasets?: unknown }).datasets;
    if (typeof datasets !== 'object' || datasets === null || Object.keys(datasets).length === 0) {
      throw new FailsafeError('CONFIG', `${file}: the migration defines no datasets (export default defineMigration({ datasets: { ... } }))`);
    }
    const names = Object.keys(datasets);
    const dependsOn = new Map<string, readonly string[]>();
    for (const [name, dataset] of Object.entries(datasets as Record<string, Record<string, unknown>>)) {
      const missing = missingFields(dataset);
      if (missing.length > 0) throw new FailsafeError('CONFIG', `${file}: dataset ${name} has no ${missing.join(', ')}`);
      const parents = (dataset.dependsOn as readonly string[] | undefined) ?? [];
      for (const parent of parents) {
        if (!names.includes(parent)) {
          throw new FailsafeError('CONFIG', `${file}: dataset ${name} depends on unknown dataset "${parent}"${didYouMean(parent, names)}`);
        }
      }
      dependsOn.set(name, [...new Set(parents)]);
    }
    const cycle = findCycle(names, dependsOn);
    if (cycle) throw new FailsafeError('CONFIG', `${file}: datasets depend on each other in a cycle (each on the next): ${cycle.join(' → ')}`);
    return new DatasetGraph(dependencyOrder(names, dependsOn), dependsOn);
  }

  /** The datasets `name` depends on, directly. */
  dependsOn(name: string): readonly string[] {
    return this.#dependsOn.get(name) ?? [];
  }

  /** True when `name` depends on `ancestor`, directly or through others (a reference must point at one). */
  reaches(name: string, ancestor: string): boolean {
    const seen = new Set<string>();
    const visit = (current: string): boolean =>
      this.dependsOn(current).some((parent) => parent === ancestor || (!seen.has(parent) && (seen.add(parent), visit(parent))));
    return visit(name);
  }

  /** `name` and every dataset that depends on it, directly or not, in {@link order}. */
  withDependants(name: string): string[] {
    return this.order.filter((candidate) => candidate === name || this.reaches(candidate, name));
  }
}

const REQUIRED = ['extract', 'key', 'transform', 'load'] as const;

function missingFields(dataset: Record<string, unknown>): string[] {
  if (typeof dataset !== 'object' || dataset === null) return [...REQUIRED];
  return REQUIRED.filter((field) => {
    const value = dataset[field];
    switch (field) {
      case 'extract':
        return typeof value !== 'string' || value.trim() === '';
      case 'key':
        return !Array.isArray(value) || value.length === 0;
      case 'transform':
        return typeof value !== 'function';
      case 'load':
        return typeof value !== 'object' || value === null || typeof (value as { endpoint?: unknown }).endpoint !== 'string';
    }
  });
}

/** A cycle as the names along it, first name repeated at the end; undefined when there is none. */
function findCycle(names: readonly string[], dependsOn: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'open') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'open');
    path.push(name);
    for (const parent of dependsOn.get(name) ?? []) {
      const cycle = visit(parent);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of names) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Kahn's order over a graph known to have no cycle, taking ready datasets in definition order. */
function dependencyOrder(names: readonly string[], dependsOn: ReadonlyMap<string, readonly string[]>): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < names.length) {
    const next = names.find((name) => !placed.has(name) && dependsOn.get(name)!.every((parent) => placed.has(parent)))!;
    order.push(next);
    placed.add(next);
  }
  return order;
}
