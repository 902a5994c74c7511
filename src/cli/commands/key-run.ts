/**
 * What the `failsafe key` subcommands do (their options are declared in key.ts).
 */
import { formatTime } from '../../core/units.js';
import { changePassword, listKeys, removeKey } from '../../repository/keys.js';
import type { CommandContext } from '../context.js';

interface NewPasswordOptions {
  readonly newPasswordFile?: string;
}

export async function runKeyList(ctx: CommandContext): Promise<void> {
  const repo = await ctx.openRepository();
  const keys = await listKeys(repo);
  ctx.output.result(keys);
  ctx.output.table([
    [' ', 'ID', 'Created (UTC)', 'User', 'Host'],
    ...keys.map((k) => [k.current ? '*' : ' ', k.id.slice(0, 8), formatTime(k.created), k.username, k.host]),
  ]);
}

export async function runKeyAdd(ctx: CommandContext, options: NewPasswordOptions): Promise<void> {
  const repo = await ctx.openRepository();
  const id = await repo.addKey(await ctx.newPassword(options.newPasswordFile));
  ctx.output.result({ id });
  ctx.output.line(`added key ${id.slice(0, 8)}`);
}

export async function runKeyRemove(ctx: CommandContext, id: string): Promise<void> {
  const repo = await ctx.openRepository();
  const removed = await removeKey(repo, id);
  ctx.output.result({ removed });
  ctx.output.line(`removed key ${removed.slice(0, 8)}`);
}

export async function runKeyPasswd(ctx: CommandContext, options: NewPasswordOptions): Promise<void> {
  const repo = await ctx.openRepository();
  const id = await changePassword(repo, await ctx.newPassword(options.newPasswordFile));
  ctx.output.result({ id, removed: repo.keyId });
  ctx.output.line(`password changed: new key ${id.slice(0, 8)} replaces ${repo.keyId.slice(0, 8)}`);
}
