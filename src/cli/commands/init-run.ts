/**
 * What `failsafe init` does (its options are declared in init.ts).
 */
import type { CompressionName } from '../../repository/compression.js';
import { Repository } from '../../repository/repository.js';
import { shortId } from '../../repository/snapshot.js';
import type { CommandContext } from '../context.js';

export async function runInit(ctx: CommandContext, options: { compression: CompressionName }): Promise<void> {
  const target = await ctx.repositoryTarget();
  const password = await ctx.password(target);
  const repo = await Repository.init(await ctx.openStorage(target), password, { compression: options.compression });
  ctx.output.result({ id: repo.config.id, location: repo.storage.location, keyId: repo.keyId });
  ctx.output.line(`created repository ${shortId(repo.config.id)} at ${repo.storage.location}`);
  ctx.output.line('keep the password safe: without it the data cannot be recovered');
}
