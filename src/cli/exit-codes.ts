/**
 * Process exit codes, documented in the README. Scripts rely on them: never renumber.
 */
import type { ErrorCode } from '../core/errors.js';

export const ExitCode = {
  Ok: 0,
  /** Any failure without a more specific code. */
  Error: 1,
  /** Wrong command line or invalid configuration. */
  Usage: 2,
  /** A verification found problems: `check` found damage, a restore could not restore every file. */
  VerifyFailed: 3,
  /** The backup finished, but some files could not be read; the snapshot lacks them. */
  Partial: 4,
  /** No repository at the given location. */
  NoRepository: 10,
  /** The repository is locked by another process. */
  Locked: 11,
  /** No key opens with the password. */
  WrongPassword: 12,
  /** Interrupted (SIGINT/SIGTERM). */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(code: ErrorCode): ExitCode {
  switch (code) {
    case 'USAGE':
    case 'CONFIG':
      return ExitCode.Usage;
    case 'VERIFY_FAILED':
      return ExitCode.VerifyFailed;
    case 'NO_REPOSITORY':
      return ExitCode.NoRepository;
    case 'LOCKED':
      return ExitCode.Locked;
    case 'WRONG_PASSWORD':
      return ExitCode.WrongPassword;
    case 'ABORTED':
      return ExitCode.Interrupted;
    default:
      return ExitCode.Error;
  }
}
