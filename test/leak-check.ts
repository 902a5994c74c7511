/**
 * Leak detection for test files: compares the process's live handles (servers, sockets, child processes)
 * with a baseline, and checks that every child process a helper started has exited.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const WATCHED = ['ProcessWrap', 'TCPServerWrap', 'TCPSocketWrap', 'PipeWrap'] as const;
const childPids = new Set<number>();

/** Helpers that spawn processes register them here so {@link LeakCheck.assertNoLeaks} can verify they died. */
export function registerChildProcess(pid: number): void {
  childPids.add(pid);
}

export interface LeakCheck {
  /** Waits briefly for handles to close, then throws listing whatever is still open beyond the baseline. */
  assertNoLeaks(): Promise<void>;
}

/**
 * Takes a baseline of live handles now (call in `beforeAll`), to compare against in `afterAll`.
 *
 * @example
 * const leaks = trackLeaks(); // in beforeAll
 * await leaks.assertNoLeaks(); // in afterAll
 */
export function trackLeaks(): LeakCheck {
  const baseline = countHandles();
  return {
    async assertNoLeaks() {
      let problems: string[] = [];
      for (let i = 0; i < 40; i++) {
        problems = findProblems(baseline);
        if (problems.length === 0) return;
        await sleep(50);
      }
      throw new Error(`leaked resources after tests: ${problems.join(', ')}`);
    },
  };
}

function countHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

function findProblems(baseline: Map<string, number>): string[] {
  const now = countHandles();
  const problems = WATCHED.filter((type) => (now.get(type) ?? 0) > (baseline.get(type) ?? 0)).map(
    (type) => `${(now.get(type) ?? 0) - (baseline.get(type) ?? 0)} extra ${type}`,
  );
  for (const pid of childPids) {
    if (isAlive(pid)) problems.push(`child process ${pid} still running`);
    else childPids.delete(pid);
  }
  return problems;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
