/**
 * Trees: serialized directory listings stored as `tree` blobs. A file node lists the ids of its data
 * blobs in order; a directory node names its subtree. Sources other than files (databases, object
 * stores) use the same model: a table is a file, a schema a directory.
 */
import { FailsafeError } from '../core/errors.js';

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  readonly name: string;
  readonly type: NodeType;
  /** Permission bits incl. setuid/setgid/sticky (no file-type bits). */
  readonly mode: number;
  /** ISO-8601 UTC with up to nanosecond precision. */
  readonly mtime: string;
  readonly uid: number;
  readonly gid: number;
  /** file: content bytes. */
  readonly size?: number;
  /** file: data blob ids (hex), in order. */
  readonly content?: readonly string[];
  /** dir: tree blob id (hex). */
  readonly subtree?: string;
  /** symlink: the link target, verbatim. */
  readonly target?: string;
  /** Change detection only (not restored): inode number and status-change time of the source file. */
  readonly inode?: number;
  readonly ctime?: string;
}

export interface Tree {
  readonly nodes: readonly TreeNode[];
}

/** Sorts nodes by name (UTF-8 byte order) and serializes the tree. Duplicate names are a bug. */
export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const sorted = nodes
    .map((node) => ({ node, key: Buffer.from(node.name, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ node }) => node);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.name === sorted[i - 1]!.name) {
      throw new FailsafeError('INTERNAL', `tree has two entries named "${sorted[i]!.name}"`);
    }
  }
  return Buffer.from(JSON.stringify({ nodes: sorted }), 'utf8');
}

export function decodeTree(data: Buffer, what: string): Tree {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new FailsafeError('CORRUPT', `${what}: tree is not valid JSON`, { cause: err });
  }
  const nodes = typeof parsed === 'object' && parsed !== null ? (parsed as { nodes?: unknown }).nodes : undefined;
  if (!Array.isArray(nodes)) throw new FailsafeError('CORRUPT', `${what}: tree has no node list`);
  for (const node of nodes as TreeNode[]) {
    if (!isValidNode(node)) {
      throw new FailsafeError('CORRUPT', `${what}: invalid tree node ${JSON.stringify(node).slice(0, 120)}`);
    }
  }
  return { nodes: nodes as TreeNode[] };
}

/** A name a node may carry: no separators, not `.`/`..`, not empty. Guards restores against escapes. */
export function isSafeNodeName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

function isValidNode(node: TreeNode): boolean {
  if (typeof node !== 'object' || node === null || typeof node.name !== 'string' || !isSafeNodeName(node.name)) {
    return false;
  }
  const numbers = [node.mode, node.uid, node.gid];
  if (!numbers.every((value) => Number.isInteger(value)) || typeof node.mtime !== 'string') return false;
  switch (node.type) {
    case 'file':
      return Array.isArray(node.content) && node.content.every((id) => typeof id === 'string') && typeof node.size === 'number';
    case 'dir':
      return typeof node.subtree === 'string';
    case 'symlink':
      return typeof node.target === 'string';
    default:
      return false;
  }
}

/** Formats a `stat` time in nanoseconds (bigint) as ISO-8601 with nanoseconds. */
export function formatNanoTime(ns: bigint): string {
  const fraction = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const seconds = (ns - fraction) / 1_000_000_000n; // floor, also before 1970
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${fraction.toString().padStart(9, '0')}Z`;
}

/** Seconds since the epoch (fractional) of an ISO time with up to nanosecond precision. */
export function isoToEpochSeconds(iso: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!match) return Date.parse(iso) / 1000;
  const whole = Date.parse(`${match[1]}Z`) / 1000;
  const fraction = match[2] ? Number(`0.${match[2]}`) : 0;
  return whole + fraction;
}
