/**
 * The glue between commander and command implementations: every command action runs through
 * {@link runAction}, which loads the command's implementation, builds the {@link CommandContext}, turns
 * the result into an exit code and always closes what the command opened.
 *
 * Start-up cost: a command module (`backup.ts`) only declares the command; its body lives in a module of
 * its own (`backup-run.ts`) that is imported when the command runs. So is the context, with the config
 * loader, the repository and the logger: `failsafe --version`, `--help` and every command start without
 * loading what the other commands need.
 */
import type { Command } from 'commander';
import type { CommandContext, GlobalOptions } from './context.js';
import { ExitCode } from './exit-codes.js';

/** A command body: returns an exit code (default 0) or throws a FailsafeError. */
export type CommandBody<Args extends unknown[]> = (ctx: CommandContext, ...args: Args) => Promise<ExitCode | void>;

/** Shared between the signal handlers in main.ts and the running command. */
export const interruption = new AbortController();

/**
 * Wraps a command body as a commander action; `load` imports the body when the command runs. Commander
 * passes the positional arguments, then the command's options, then the command itself.
 *
 * @example
 * program.command('snapshots').action(runAction(async () => (await import('./snapshots-run.js')).runSnapshots));
 */
export function runAction<Args extends unknown[]>(load: () => Promise<CommandBody<Args>>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions & { verbose?: number; json?: boolean; quiet?: boolean }>();
    const options: GlobalOptions = { ...globals, json: globals.json ?? false, verbose: globals.verbose ?? 0, quiet: globals.quiet ?? false };
    const [{ CommandContext }, { createLogger }, body] = await Promise.all([import('./context.js'), import('./logger.js'), load()]);
    const ctx = new CommandContext(options, createLogger(options.verbose), interruption.signal);
    const started = Date.now();
    ctx.logger.debug({ command: command.name() }, 'command started');
    try {
      const code = await body(ctx, ...(args.slice(0, -1) as Args));
      process.exitCode = code ?? ExitCode.Ok;
      ctx.logger.info({ command: command.name(), exitCode: process.exitCode, seconds: (Date.now() - started) / 1000 }, 'command finished');
    } finally {
      await ctx.close();
    }
  };
}

/** Adds an "Example" section to a command's help. */
export function withExamples(command: Command, ...examples: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((example) => `  $ ${example}`).join('\n')}\n`);
}
