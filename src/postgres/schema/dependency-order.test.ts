import { describe, expect, it } from 'vitest';
import { dependentsOf, orderByDependencies } from './dependency-order.js';
import type { SchemaNode } from './schema-statement.js';

function node(key: string, rank: number, name: string): SchemaNode {
  return { key, rank, statements: [{ kind: 'X', schema: 's', name, sql: `-- ${name}` }] };
}

const names = (nodes: readonly SchemaNode[]): string[] => nodes.map((n) => n.statements[0]!.name);

describe('orderByDependencies', () => {
  it('keeps rank and name order where nothing depends on anything', () => {
    const nodes = [node('rel:1', 7, 'b'), node('rel:2', 7, 'a'), node('type:3', 3, 'z')];
    expect(names(orderByDependencies(nodes, []))).toEqual(['z', 'a', 'b']);
  });

  it('moves what is needed in front of what needs it, and ignores edges to unknown nodes', () => {
    const nodes = [node('proc:1', 4, 'f_returns_table'), node('rel:2', 7, 'table'), node('rel:3', 8, 'view_on_f')];
    const edges = [
      { from: 'proc:1', to: 'rel:2' },
      { from: 'rel:3', to: 'proc:1' },
      { from: 'rel:2', to: 'type:99' },
    ];
    expect(names(orderByDependencies(nodes, edges))).toEqual(['table', 'f_returns_table', 'view_on_f']);
  });

  it('still returns every node once when there is a cycle', () => {
    const nodes = [node('rel:1', 7, 'a'), node('rel:2', 7, 'b')];
    const edges = [
      { from: 'rel:1', to: 'rel:2' },
      { from: 'rel:2', to: 'rel:1' },
    ];
    expect(names(orderByDependencies(nodes, edges))).toEqual(['b', 'a']);
  });
});

describe('dependentsOf', () => {
  it('follows dependents transitively', () => {
    const edges = [
      { from: 'rel:view', to: 'con:pk' },
      { from: 'rel:view2', to: 'rel:view' },
      { from: 'rel:other', to: 'rel:table' },
    ];
    expect([...dependentsOf(edges, (key) => key.startsWith('con:'))].sort()).toEqual(['rel:view', 'rel:view2']);
  });
});
