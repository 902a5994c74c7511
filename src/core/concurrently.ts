/**
 * Bounded parallel work over a list, for loops that must not leave work running behind an error.
 */

/**
 * Runs `work` on each item, at most `workers` at once, taking the items in order; `worker` (0 to
 * `workers` - 1) says which of the workers runs it, for state a worker keeps, such as its sessions;
 * `index` is the item's position in `items`.
 * After the first failure no further item starts, and the failure is thrown once every running item
 * has ended.
 *
 * @example await forEachConcurrently(objects, 8, (object) => store.write(object.key, bodyOf(object)))
 */
export async function forEachConcurrently<T>(items: readonly T[], workers: number, work: (item: T, worker: number, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(workers, items.length) }, async (_, worker) => {
      while (!failed && next < items.length) {
        const index = next++;
        try {
          await work(items[index]!, worker, index);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }),
  );
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
}
