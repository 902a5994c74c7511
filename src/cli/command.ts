/**
 * The glue between commander and command implementations: every command action runs through
 * {@link runAction}, which builds the {@link CommandContext}, turns the result into an exit code and
 * always closes what the command opened.
 */
import type { Command } from 'commander';
import { CommandContext, type GlobalOptions } from './context.js';
import { ExitCode } from './exit-codes.js';
import { createLogger } from './logger.js';

/** A command body: returns an exit code (default 0) or throws a FailsafeError. */
export type CommandBody<Args extends unknown[]> = (ctx: CommandContext, ...args: Args) => Promise<ExitCode | void>;

/** Shared between the signal handlers in main.ts and the running command. */
export const interruption = new AbortController();

/**
 * Wraps a command body as a commander action. Commander passes the positional arguments, then the
 * command's options, then the command itself.
 */
export function runAction<Args extends unknown[]>(body: CommandBody<Args>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions & { verbose?: number; json?: boolean; quiet?: boolean }>();
    const options: GlobalOptions = { ...globals, json: globals.json ?? false, verbose: globals.verbose ?? 0, quiet: globals.quiet ?? false };
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
