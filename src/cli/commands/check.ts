import type { Command } from 'commander';
import { FailsafeError } from '../../core/errors.js';
import type { PackSubset } from '../../repository/check.js';
import { runAction, withExamples } from '../command.js';
import { parseFraction } from './option-parsers.js';

export function registerCheck(program: Command): void {
  withExamples(
    program
      .command('check')
      .description('verify the repository structure; with --read-data also every stored byte')
      .option('--read-data', 'download and verify all packs')
      .option('--read-data-subset <subset>', 'verify a part of the packs: a percentage (10%) or a group n/m (1/7)', parseSubset)
      .action(runAction(async () => (await import('./check-run.js')).runCheck)),
    'failsafe check',
    'failsafe check --read-data',
    'failsafe check --read-data-subset 10%',
  );
}

function parseSubset(value: string): PackSubset {
  const group = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (group) {
    const part = Number(group[1]);
    const of = Number(group[2]);
    if (part < 1 || part > of) throw new FailsafeError('USAGE', `invalid subset "${value}": n/m needs 1 ≤ n ≤ m`);
    return { part, of };
  }
  return { fraction: parseFraction(value) };
}
