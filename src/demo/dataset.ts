/**
 * A deterministic sample file tree for the demo, the tests and the benchmark: two thirds table-like
 * text rows (TSV exports of a hotel booking system), the rest random bytes (uploaded photos and PDFs)
 * and duplicated files, plus a symlink, an empty directory and small config files.
 *
 * `mutateDataset` simulates a day of activity: a fraction of the rows changes, half appended as new
 * rows and half edited in place. Edits hit the newest 5% of each table's rows, as in a booking system
 * where recent records are the ones that change; older rows stay byte-identical.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { lstat, mkdir, open, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRandom } from './random.js';

export interface DatasetOptions {
  /** Approximate total size in bytes. */
  readonly bytes: number;
  readonly seed?: number;
}

export interface DatasetSummary {
  readonly files: number;
  readonly bytes: number;
  readonly rows: number;
}

const TABLES = [
  { name: 'bookings', share: 0.3 },
  { name: 'guests', share: 0.2 },
  { name: 'payments', share: 0.15 },
  { name: 'room_nights', share: 0.15 },
  { name: 'reviews', share: 0.1 },
  { name: 'audit_log', share: 0.1 },
] as const;

const FIRST_NAMES = ['Aoife', 'Liam', 'Saoirse', 'Conor', 'Niamh', 'Sean', 'Mia', 'Noah', 'Emma', 'Luca', 'Sofia', 'Mateo', 'Amara', 'Kenji', 'Priya', 'Omar'];
const LAST_NAMES = ['Murphy', 'Kelly', 'Byrne', 'Walsh', 'Ryan', "O'Brien", 'Garcia', 'Rossi', 'Novak', 'Tanaka', 'Patel', 'Haddad', 'Schmidt', 'Dubois'];
const STATUSES = ['confirmed', 'checked_in', 'checked_out', 'cancelled', 'no_show', 'pending'];
const CITIES = ['Dublin', 'Cork', 'Galway', 'London', 'Manchester', 'Berlin', 'Prague', 'Lisbon', 'Madrid', 'Rome'];

/**
 * Writes the dataset into `dir` (created if missing).
 *
 * @example await generateDataset('/tmp/demo-data', { bytes: 64 * 1024 * 1024 })
 */
export async function generateDataset(dir: string, options: DatasetOptions): Promise<DatasetSummary> {
  const seed = options.seed ?? 1;
  const textBytes = Math.round((options.bytes * 2) / 3);
  const randomBytes = Math.round((options.bytes * 2) / 9);
  let files = 0;
  let rows = 0;
  let bytes = 0;

  await mkdir(join(dir, 'tables'), { recursive: true });
  for (const [t, table] of TABLES.entries()) {
    const random = new SeededRandom(seed * 1000 + t);
    const target = Math.max(1024, Math.round(textBytes * table.share));
    const handle = await open(join(dir, 'tables', `${table.name}.tsv`), 'w');
    let written = 0;
    let id = 1;
    try {
      while (written < target) {
        const lines: string[] = [];
        for (let i = 0; i < 2000 && written < target; i++, id++) {
          const line = makeRow(table.name, id, random);
          lines.push(line);
          written += line.length;
        }
        await handle.write(lines.join(''));
        rows += lines.length;
      }
    } finally {
      await handle.close();
    }
    files++;
    bytes += written;
  }

  await mkdir(join(dir, 'uploads'), { recursive: true });
  const stream = keystream(seed);
  const uploads: string[] = [];
  for (let i = 0, left = randomBytes; left > 0; i++) {
    const size = Math.min(left, Math.max(4096, Math.round(randomBytes / 12) + ((i * 7919) % 65536)));
    const name = join(dir, 'uploads', i % 3 === 0 ? `invoice-${1000 + i}.pdf` : `photo-${1000 + i}.jpg`);
    await writeFile(name, stream(size));
    uploads.push(name);
    left -= size;
    files++;
    bytes += size;
  }

  // Duplicates: the same uploads stored again elsewhere (a second copy of an export, say).
  await mkdir(join(dir, 'archive', '2026'), { recursive: true });
  const duplicateTarget = options.bytes - bytes;
  for (let i = 0, copied = 0; copied < duplicateTarget && i < uploads.length * 2; i++) {
    const content = await readFile(uploads[i % uploads.length]!);
    await writeFile(join(dir, 'archive', '2026', `copy-${i}-${uploads[i % uploads.length]!.split('/').pop()}`), content);
    copied += content.length;
    files++;
    bytes += content.length;
  }

  await mkdir(join(dir, 'config', 'empty'), { recursive: true });
  await writeFile(join(dir, 'config', 'app.yaml'), `name: hotel-platform\nregion: eu-west-1\nseed: ${seed}\n`);
  await symlink('app.yaml', join(dir, 'config', 'current.yaml'));
  files++;
  return { files, bytes, rows };
}

export interface MutationSummary {
  readonly appendedRows: number;
  readonly editedRows: number;
}

/**
 * Changes `fraction` of the rows of every table: half appended, half edited in place.
 *
 * @example await mutateDataset('/tmp/demo-data', { fraction: 0.01 })
 */
export async function mutateDataset(dir: string, options: { fraction: number; seed?: number }): Promise<MutationSummary> {
  const seed = options.seed ?? 2;
  let appendedRows = 0;
  let editedRows = 0;
  for (const [t, table] of TABLES.entries()) {
    const path = join(dir, 'tables', `${table.name}.tsv`);
    const random = new SeededRandom(seed * 7777 + t);
    const lines = (await readFile(path, 'utf8')).split('\n');
    if (lines.at(-1) === '') lines.pop();
    const changes = Math.max(2, Math.round(lines.length * options.fraction));
    const edits = Math.floor(changes / 2);
    const hotStart = Math.floor(lines.length * 0.95);
    for (let i = 0; i < edits; i++) {
      const row = hotStart + random.below(lines.length - hotStart);
      const fields = lines[row]!.split('\t');
      fields[fields.length - 1] = random.pick(STATUSES);
      fields[fields.length - 2] = (random.below(90_000) / 100 + 10).toFixed(2);
      lines[row] = fields.join('\t');
      editedRows++;
    }
    let nextId = lines.length + 1;
    for (let i = 0; i < changes - edits; i++) {
      lines.push(makeRow(table.name, nextId++, random).trimEnd());
      appendedRows++;
    }
    await writeFile(path, `${lines.join('\n')}\n`);
  }
  return { appendedRows, editedRows };
}

/** What a restore must reproduce of one entry. */
export interface EntryPrint {
  readonly kind: 'dir' | 'file' | 'symlink';
  readonly mode: number;
  /** Files only; restored to the microsecond (the precision Node's utimes allows). */
  readonly mtimeMs?: number;
  /** SHA-256 of a file's content, or a symlink's target. */
  readonly content?: string;
}

/** Every entry under `dir` by relative path: for comparing a restore with its source. */
export async function fingerprintTree(dir: string): Promise<Map<string, EntryPrint>> {
  const result = new Map<string, EntryPrint>();
  const visit = async (path: string, relative: string): Promise<void> => {
    const stat = await lstat(path);
    const mode = stat.mode & 0o7777;
    if (stat.isDirectory()) {
      result.set(`${relative}/`, { kind: 'dir', mode });
      for (const name of (await readdir(path)).sort()) await visit(join(path, name), `${relative}/${name}`);
    } else if (stat.isSymbolicLink()) {
      result.set(relative, { kind: 'symlink', mode, content: await readlink(path) });
    } else if (stat.isFile()) {
      const content = createHash('sha256').update(await readFile(path)).digest('hex');
      result.set(relative, { kind: 'file', mode, mtimeMs: stat.mtimeMs, content });
    }
  };
  await visit(dir, '');
  return result;
}

/**
 * Paths whose entries differ between two fingerprints. Modification times are compared to 2 µs:
 * Node sets times through libuv, which truncates them to whole microseconds.
 */
export function diffFingerprints(a: ReadonlyMap<string, EntryPrint>, b: ReadonlyMap<string, EntryPrint>): string[] {
  const differs = (x: EntryPrint, y: EntryPrint | undefined): boolean =>
    y === undefined ||
    x.kind !== y.kind ||
    x.mode !== y.mode ||
    x.content !== y.content ||
    Math.abs((x.mtimeMs ?? 0) - (y.mtimeMs ?? 0)) >= 0.002;
  const paths = [...a].filter(([path, print]) => differs(print, b.get(path))).map(([path]) => path);
  return [...paths, ...[...b.keys()].filter((path) => !a.has(path))];
}

function makeRow(table: string, id: number, random: SeededRandom): string {
  const name = `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
  const day = `2026-${String(1 + random.below(12)).padStart(2, '0')}-${String(1 + random.below(28)).padStart(2, '0')}`;
  const hotel = 1 + random.below(1200);
  const amount = (random.below(90_000) / 100 + 10).toFixed(2);
  const status = random.pick(STATUSES);
  switch (table) {
    case 'guests':
      return `${id}\t${hotel}\t${name}\t${name.toLowerCase().replace(/[^a-z]+/g, '.')}${random.below(1000)}@example.com\t+353 ${random.below(900) + 100} ${random.below(9_000_000) + 1_000_000}\t${random.pick(CITIES)}\t${amount}\t${status}\n`;
    case 'audit_log':
      return `${id}\t${day}T${String(random.below(24)).padStart(2, '0')}:${String(random.below(60)).padStart(2, '0')}:00Z\tuser-${random.below(5000)}\t${random.pick(['login', 'update_booking', 'refund', 'export', 'rate_change'])}\thotel=${hotel}\t${amount}\t${status}\n`;
    default:
      return `${id}\t${hotel}\t${random.below(2_000_000)}\t${name}\t${day}\t${1 + random.below(14)}\t${random.pick(['EUR', 'GBP', 'USD'])}\t${amount}\t${status}\n`;
  }
}


/** Deterministic incompressible bytes: an AES-CTR keystream seeded by `seed`. */
function keystream(seed: number): (size: number) => Buffer {
  const key = createHash('sha256').update(`failsafe-demo-${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (size) => cipher.update(Buffer.alloc(size));
}
