/**
 * Builds a snapshot tree from files produced in memory or streamed (database tables, schema files),
 * rather than walked from a disk: add files by path, then save the directories bottom-up.
 */
import { FailsafeError } from '../core/errors.js';
import type { BlobWriter } from '../repository/blob-writer.js';
import { BlobType } from '../repository/pack.js';
import { encodeTree, isSafeNodeName, type TreeNode } from '../repository/tree.js';

export interface VirtualFile {
  readonly content: readonly string[];
  readonly size: number;
}

interface Directory {
  readonly files: Map<string, VirtualFile>;
  readonly dirs: Map<string, Directory>;
}

/**
 * @example
 * const tree = new SnapshotTreeBuilder(time);
 * tree.addFile('app-db/manifest.json', await saveContent(repo, writer, [bytes]));
 * const treeId = await tree.save(writer);
 */
export class SnapshotTreeBuilder {
  readonly #root: Directory = { files: new Map(), dirs: new Map() };
  readonly #mtime: string;
  #files = 0;
  #dirs = 0;
  #bytes = 0;

  /** `mtime` is stamped on every node: the time the data was read. */
  constructor(mtime: string) {
    this.#mtime = mtime;
  }

  /** Adds a file at a `/`-separated path; every segment must be a safe node name. */
  addFile(path: string, file: VirtualFile): void {
    const segments = path.split('/');
    const name = segments.pop()!;
    let dir = this.#root;
    for (const segment of segments) {
      this.#checkName(segment, path);
      let next = dir.dirs.get(segment);
      if (!next) {
        next = { files: new Map(), dirs: new Map() };
        dir.dirs.set(segment, next);
        this.#dirs++;
      }
      dir = next;
    }
    this.#checkName(name, path);
    if (dir.files.has(name) || dir.dirs.has(name)) throw new FailsafeError('INTERNAL', `snapshot path ${path} added twice`);
    dir.files.set(name, file);
    this.#files++;
    this.#bytes += file.size;
  }

  get counts(): { readonly files: number; readonly dirs: number; readonly bytes: number } {
    return { files: this.#files, dirs: this.#dirs, bytes: this.#bytes };
  }

  /** Saves every directory as a tree blob; returns the root tree's id (hex). */
  async save(writer: BlobWriter): Promise<string> {
    return this.#saveDirectory(this.#root, writer);
  }

  async #saveDirectory(dir: Directory, writer: BlobWriter): Promise<string> {
    const owner = { mode: 0o644, mtime: this.#mtime, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const nodes: TreeNode[] = [];
    for (const [name, file] of dir.files) nodes.push({ name, type: 'file', ...owner, size: file.size, content: file.content });
    for (const [name, sub] of dir.dirs) nodes.push({ name, type: 'dir', ...owner, mode: 0o755, subtree: await this.#saveDirectory(sub, writer) });
    const { id } = await writer.save(BlobType.Tree, encodeTree(nodes));
    return id.toString('hex');
  }

  #checkName(name: string, path: string): void {
    if (!isSafeNodeName(name)) throw new FailsafeError('INTERNAL', `snapshot path ${path} has an unusable segment "${name}"`);
  }
}
