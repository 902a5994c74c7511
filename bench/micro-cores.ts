/**
 * Micro-benchmarks of the repository's CPU-bound cores: chunker, blob index, retention policy.
 *
 *   node --import tsx bench/micro-cores.ts [--quick]
 *
 * Prints the median of several timed runs after warm-up runs (the JIT needs a few to settle).
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { cpus } from 'node:os';
import { BlobIndex } from '../src/repository/blob-index.js';
import { BlobType } from '../src/repository/pack.js';
import { Chunker, DEFAULT_CHUNKER_PARAMS, createGearTable, type ChunkerParams } from '../src/repository/chunker.js';
import { applyRetentionPolicy, type SnapshotSummary } from '../src/repository/retention.js';

const quick = process.argv.includes('--quick');
const MiB = 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median seconds of `runs` timed calls after `warmups` untimed ones. */
function time(fn: () => void, runs = quick ? 3 : 5, warmups = quick ? 2 : 3): number {
  for (let i = 0; i < warmups; i++) fn();
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return median(seconds);
}

function benchChunker(): void {
  const data = randomFillSync(Buffer.allocUnsafe((quick ? 64 : 256) * MiB));
  const gear = createGearTable(randomBytes(32));
  const cases: Array<[string, ChunkerParams, number]> = [
    ['default sizes, 4 MiB pushes', DEFAULT_CHUNKER_PARAMS, 4 * MiB],
    ['default sizes, 64 KiB pushes', DEFAULT_CHUNKER_PARAMS, 64 * 1024],
    // Hashes (almost) every byte: the speed of the gear-hash loop itself plus copying.
    ['min 64 B (hash every byte), 4 MiB pushes', { minSize: 64, avgSize: MiB, maxSize: 8 * MiB }, 4 * MiB],
  ];
  console.log(`chunker (${data.length / MiB} MiB of random data)`);
  for (const [name, params, piece] of cases) {
    let chunks = 0;
    const seconds = time(() => {
      const chunker = new Chunker(gear, params);
      chunks = 0;
      for (let at = 0; at < data.length; at += piece) chunks += chunker.push(data.subarray(at, at + piece)).length;
      if (chunker.finish()) chunks++;
    });
    const gbps = data.length / seconds / 1e9;
    const mean = data.length / chunks / MiB;
    console.log(`  ${name.padEnd(44)} ${gbps.toFixed(2)} GB/s   ${chunks} chunks, mean ${mean.toFixed(2)} MiB`);
  }
}

function benchBlobIndex(): void {
  const count = quick ? 1_000_000 : 2_000_000;
  const ids = randomFillSync(Buffer.allocUnsafe(count * 32));
  const absent = randomFillSync(Buffer.allocUnsafe(count * 32));
  const location = (i: number) => ({ type: BlobType.Data, pack: i >>> 8, offset: i, length: 1 << 20, rawLength: 1 << 20 });
  let index = new BlobIndex();
  const add = time(() => {
    index = new BlobIndex();
    for (let i = 0; i < count; i++) index.add(ids.subarray(i * 32, i * 32 + 32), location(i));
  }, 3, 1);
  let hits = 0;
  const get = time(() => {
    hits = 0;
    for (let i = 0; i < count; i++) if (index.get(ids.subarray(i * 32, i * 32 + 32))) hits++;
  }, 3, 1);
  const miss = time(() => {
    for (let i = 0; i < count; i++) if (index.has(absent.subarray(i * 32, i * 32 + 32))) hits = -1;
  }, 3, 1);
  const bytesPerBlob = index.bytesPerBlob;
  const megabytes = index.byteLength / 1e6;
  const start = process.hrtime.bigint();
  const removed = index.deletePacks((pack) => pack % 10 === 0);
  const prune = Number(process.hrtime.bigint() - start) / 1e9;
  const ns = (seconds: number): string => `${((seconds / count) * 1e9).toFixed(0)} ns`;
  console.log(`blob index (${count.toLocaleString('en')} random ids${hits === count ? '' : ', LOOKUP MISMATCH'})`);
  console.log(`  add ${ns(add)}   get (present) ${ns(get)}   has (absent) ${ns(miss)}   per call, incl. id slicing`);
  console.log(`  memory ${megabytes.toFixed(1)} MB = ${bytesPerBlob.toFixed(1)} bytes per blob (bound ${BlobIndex.MAX_BYTES_PER_BLOB.toFixed(1)})`);
  console.log(`  deletePacks of 10 % of the packs: ${removed.toLocaleString('en')} blobs in ${(prune * 1e3).toFixed(0)} ms`);
}

function benchRetention(): void {
  const hosts = ['db1', 'db2', 'app1', 'app2'];
  const snapshots: SnapshotSummary[] = [];
  const start = Date.UTC(2024, 0, 1);
  for (let hour = 0; hour < 2 * 365 * 24; hour += 3) {
    for (const host of hosts) {
      snapshots.push({ id: `${host}-${hour}`, time: new Date(start + hour * 3_600_000), host, paths: ['/data'], tags: hour % 500 === 0 ? ['monthly'] : [] });
    }
  }
  const policy = { keepLast: 5, keepDaily: 14, keepWeekly: 8, keepMonthly: 24, keepYearly: -1, keepTags: ['monthly'] };
  let kept = 0;
  const seconds = time(() => {
    kept = applyRetentionPolicy(snapshots, policy).reduce((sum, group) => sum + group.keep.length, 0);
  });
  console.log(`retention: ${snapshots.length.toLocaleString('en')} snapshots, 4 groups, keep ${kept}: ${(seconds * 1e3).toFixed(1)} ms`);
}

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}${quick ? ', --quick' : ''}`);
benchChunker();
benchBlobIndex();
benchRetention();
