/**
 * Entry point of the `failsafe` command: runs the program, renders errors as one line, sets the exit
 * code. SIGINT/SIGTERM abort the running operation (locks are released on the way out); a second
 * signal exits at once.
 */
import { setFlagsFromString } from 'node:v8';
import { CommanderError } from 'commander';
import { FailsafeError, fromDatabaseError, isDatabaseError, messageOf } from '../core/errors.js';
import { interruption } from './command.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { buildProgram } from './program.js';

// Backup and restore churn through gigabytes of short-lived Buffers on a heap of a few MB. V8's
// incremental marking, started again and again by that external memory, cost 10-15% of the CPU:
// measured on 1 GiB, restore 1.93 s -> 1.71 s and backup 4.3 s -> 4.0 s without it. It is a GC
// scheduling policy, safe to change before the first collection.
setFlagsFromString('--no-incremental-marking');

// The AWS SDK warns about Node 20 on every start; it is noise for a CLI's users.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (/NodeVersionSupportWarning|versions published after/.test(text) || (rest[0] as { type?: string } | undefined)?.type === 'NodeVersionSupportWarning') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interruption.signal.aborted) process.exit(ExitCode.Interrupted);
    interruption.abort(new FailsafeError('ABORTED', `interrupted by ${signal}`));
  });
}

// `failsafe ls latest | head`: a closed pipe ends the command quietly, as it does for ls and cat.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.Ok);
  throw err;
});

const json = process.argv.includes('--json');
try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed its message already.
    return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (interruption.signal.aborted && !(err instanceof FailsafeError && err.code !== 'ABORTED')) {
    process.stderr.write('failsafe: interrupted\n');
    return ExitCode.Interrupted;
  }
  const failure =
    err instanceof FailsafeError ? err : isDatabaseError(err) ? fromDatabaseError(err) : new FailsafeError('INTERNAL', `internal error: ${messageOf(err)}`, { cause: err });
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message, hint: failure.hint } })}\n`);
  } else {
    process.stderr.write(`failsafe: ${failure.message}${failure.hint ? ` (${failure.hint})` : ''}\n`);
  }
  if (failure.code === 'INTERNAL' && process.env.FAILSAFE_DEBUG) {
    process.stderr.write(`${(failure.cause as Error | undefined)?.stack ?? ''}\n`);
  }
  return exitCodeFor(failure.code);
}
