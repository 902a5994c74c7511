import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TreeNode, decodeTree, encodeTree, formatNanoTime, isSafeNodeName, isoToEpochSeconds } from './tree.js';
import { outcome } from './test-arbitraries.js';

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));
const safeName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter(isSafeNodeName);

function node(name: string, type: TreeNode['type'] = 'file', rest: Partial<TreeNode> = {}): TreeNode {
  const base = { name, type, mode: 0o644, mtime: '2026-01-02T03:04:05.123456789Z', uid: 0, gid: 0 };
  switch (type) {
    case 'file':
      return { ...base, size: 0, content: [], ...rest };
    case 'dir':
      return { ...base, subtree: 'ab'.repeat(32), ...rest };
    case 'symlink':
      return { ...base, target: '../x', ...rest };
  }
}

const treeNode: fc.Arbitrary<TreeNode> = fc.oneof(
  fc
    .record({ size: fc.nat(), content: fc.array(hex64, { maxLength: 4 }), inode: fc.nat() })
    .map((rest) => ({ type: 'file' as const, ...rest })),
  hex64.map((subtree) => ({ type: 'dir' as const, subtree })),
  fc.string({ maxLength: 30 }).map((target) => ({ type: 'symlink' as const, target })),
).chain((variant) =>
  fc.record({ mode: fc.nat({ max: 0o7777 }), uid: fc.nat(), gid: fc.nat() }).map((meta) => ({
    name: '',
    mtime: '2026-01-02T03:04:05.123456789Z',
    ...meta,
    ...variant,
  })),
);

/** Distinct safe names with a node each. */
const nodes: fc.Arbitrary<TreeNode[]> = fc
  .uniqueArray(safeName, { maxLength: 20 })
  .chain((names) => fc.tuple(...names.map(() => treeNode)).map((list) => list.map((n, i) => ({ ...n, name: names[i]! }))));

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('encodeTree and decodeTree', () => {
  it('round-trip any list of distinct, safe names, sorted by UTF-8 byte order', () => {
    fc.assert(
      fc.property(nodes, (list) => {
        const decoded = decodeTree(encodeTree(list), 'tree');
        expect(decoded.nodes.map((n) => n.name)).toEqual(list.map((n) => n.name).sort(utf8Order));
        expect([...decoded.nodes].sort((a, b) => utf8Order(a.name, b.name))).toEqual([...list].sort((a, b) => utf8Order(a.name, b.name)));
      }),
    );
  });

  it('encode the same directory to the same bytes whatever the input order (so equal trees deduplicate)', () => {
    fc.assert(
      fc.property(
        nodes.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length }))),
        ([list, shuffled]) => {
          expect(encodeTree(shuffled).equals(encodeTree(list))).toBe(true);
        },
      ),
    );
  });

  it('sort by UTF-8 bytes, not by UTF-16 code units as String.prototype.sort would', () => {
    // U+FF61 is one UTF-16 unit above the surrogates of U+1F600, but its UTF-8 form sorts below.
    const names = ['\u{1F600}', '\uFF61', 'é', 'a', 'B', 'a b', 'a-b'];
    const decoded = decodeTree(encodeTree(names.map((name) => node(name))), 'tree');
    expect(decoded.nodes.map((n) => n.name)).toEqual(['B', 'a', 'a b', 'a-b', 'é', '\uFF61', '\u{1F600}']);
    expect([...names].sort()).not.toEqual(decoded.nodes.map((n) => n.name));
  });

  it('treat two entries with one name as a bug (INTERNAL)', () => {
    expect(outcome(() => encodeTree([node('a'), node('b', 'dir'), node('a', 'symlink')]))).toBe('INTERNAL');
    expect(() => encodeTree([node('x'), node('x')])).toThrow(/two entries named "x"/);
  });

  it('refuse node names that could escape the restore target or are not file names', () => {
    for (const name of ['', '.', '..', 'a/b', '/', '../etc', 'a\0b', '\0']) {
      const payload = Buffer.from(JSON.stringify({ nodes: [node(name)] }));
      expect(outcome(() => decodeTree(payload, 'tree')), JSON.stringify(name)).toBe('CORRUPT');
    }
    for (const name of ['...', '.hidden', 'a\\b', ' ', 'ü']) {
      expect(outcome(() => decodeTree(Buffer.from(JSON.stringify({ nodes: [node(name)] })), 'tree')), JSON.stringify(name)).toBe('ok');
    }
  });

  it('refuse malformed trees and nodes as CORRUPT', () => {
    const malformed: Record<string, string> = {
      'not JSON': '{"nodes": [',
      'empty input': '',
      'no node list': '{}',
      'nodes not a list': '{"nodes": {}}',
      'a list instead of an object': '[]',
      'a number': '42',
      'a null node': '{"nodes": [null]}',
      'a number node': '{"nodes": [1]}',
      'a name that is not a string': JSON.stringify({ nodes: [{ ...node('a'), name: 7 }] }),
      'an unknown type': JSON.stringify({ nodes: [{ ...node('a'), type: 'fifo' }] }),
      'no type': JSON.stringify({ nodes: [{ ...node('a'), type: undefined }] }),
      'a file without content': JSON.stringify({ nodes: [{ ...node('a'), content: undefined }] }),
      'a file with content not a list': JSON.stringify({ nodes: [{ ...node('a'), content: 'ab' }] }),
      'a file without size': JSON.stringify({ nodes: [{ ...node('a'), size: undefined }] }),
      'a dir without subtree': JSON.stringify({ nodes: [{ ...node('d', 'dir'), subtree: undefined }] }),
      'a dir with a numeric subtree': JSON.stringify({ nodes: [{ ...node('d', 'dir'), subtree: 5 }] }),
      'a symlink without target': JSON.stringify({ nodes: [{ ...node('l', 'symlink'), target: undefined }] }),
    };
    for (const [what, text] of Object.entries(malformed)) {
      expect(outcome(() => decodeTree(Buffer.from(text), 'tree 1234')), what).toBe('CORRUPT');
    }
    expect(() => decodeTree(Buffer.from('{}'), 'tree 1234')).toThrow(/^tree 1234: /);
  });

  it('never fail with anything but CORRUPT on arbitrary JSON documents (other than null, see below)', () => {
    fc.assert(
      fc.property(fc.jsonValue().filter((value) => value !== null), (value) => {
        expect(['ok', 'CORRUPT']).toContain(outcome(() => decodeTree(Buffer.from(JSON.stringify(value)), 'tree')));
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(['ok', 'CORRUPT']).toContain(outcome(() => decodeTree(Buffer.from(bytes), 'tree')));
      }),
    );
  });

  it('refuse the JSON document null as CORRUPT', () => {
    expect(outcome(() => decodeTree(Buffer.from('null'), 'tree'))).toBe('CORRUPT');
  });
});

describe('formatNanoTime and isoToEpochSeconds', () => {
  const YEAR_2100_NS = 4_102_444_800n * 1_000_000_000n;

  it('format nanoseconds as ISO-8601 UTC with nine fraction digits, and parse them back to ~1 µs', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: YEAR_2100_NS }), (ns) => {
        const text = formatNanoTime(ns);
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        const seconds = ns / 1_000_000_000n;
        expect(text.slice(0, 19)).toBe(new Date(Number(seconds) * 1000).toISOString().slice(0, 19));
        expect(text.slice(20, 29)).toBe((ns % 1_000_000_000n).toString().padStart(9, '0'));
        expect(Math.abs(isoToEpochSeconds(text) - Number(ns) / 1e9)).toBeLessThan(1e-6);
        // Any ISO parser agrees to the millisecond.
        expect(Date.parse(text)).toBe(Number(ns / 1_000_000n));
      }),
    );
  });

  it('format the edges of a second and of the epoch', () => {
    expect(formatNanoTime(0n)).toBe('1970-01-01T00:00:00.000000000Z');
    expect(formatNanoTime(999_999_999n)).toBe('1970-01-01T00:00:00.999999999Z');
    expect(formatNanoTime(1_767_323_045_123_456_789n)).toBe('2026-01-02T03:04:05.123456789Z');
    expect(formatNanoTime(-1_500_000_000n)).toBe('1969-12-31T23:59:58.500000000Z');
  });

  it('format times before 1970 correctly', () => {
    expect(formatNanoTime(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(formatNanoTime(-1_000_000_001n)).toBe('1969-12-31T23:59:58.999999999Z');
    fc.assert(
      fc.property(fc.bigInt({ min: -2_208_988_800n * 1_000_000_000n, max: -1n }), (ns) => {
        expect(Math.abs(isoToEpochSeconds(formatNanoTime(ns)) - Number(ns) / 1e9)).toBeLessThan(1e-6);
      }),
    );
  });

  it('parse ISO times without fraction or with another offset', () => {
    expect(isoToEpochSeconds('2026-01-02T03:04:05Z')).toBe(1_767_323_045);
    expect(isoToEpochSeconds('2026-01-02T03:04:05.5Z')).toBe(1_767_323_045.5);
    expect(isoToEpochSeconds('2026-01-02T04:04:05+01:00')).toBe(1_767_323_045);
  });
});
