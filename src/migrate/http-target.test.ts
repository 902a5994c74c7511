import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isErrorCode } from '../core/errors.js';
import { TargetClient } from './http-target.js';

/** A server answering each request with the next of `answers` (the last repeats), recording what it got. */
async function scripted(answers: readonly { status: number; headers?: Record<string, string>; body?: unknown }[]): Promise<{ url: string; seen: { headers: Record<string, unknown>; body: string }[]; server: Server }> {
  const seen: { headers: Record<string, unknown>; body: string }[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const answer = answers[Math.min(seen.length, answers.length - 1)]!;
      seen.push({ headers: request.headers, body });
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('TargetClient', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  const request = { method: 'POST', path: '/guests', body: { records: [{ a: 1 }] }, idempotencyKey: 'k1', records: 1 };

  it('waits out 429s as Retry-After says and retries 5xx, sending the same idempotency key and the auth header', async () => {
    const target = await scripted([{ status: 429, headers: { 'retry-after': '0.05' } }, { status: 503 }, { status: 500 }, { status: 201, body: { ids: [7] } }]);
    servers.push(target.server);
    const client = new TargetClient('qa', { baseUrl: target.url, auth: { header: 'Authorization', env: 'QA_TOKEN', prefix: 'Bearer ' } }, { env: { QA_TOKEN: 's3cret' } });
    const answer = await client.send(request);
    expect(answer).toMatchObject({ status: 201, json: { ids: [7] } });
    expect(target.seen.map((r) => r.headers['idempotency-key'])).toEqual(['k1', 'k1', 'k1', 'k1']);
    expect(target.seen[0]!.headers.authorization).toBe('Bearer s3cret');
    expect(client.counters).toEqual({ requests: 4, retries: 3, throttled: 2 });
  });

  it('hands 4xx answers back at once, and gives up after its attempts with a retryable UNAVAILABLE', async () => {
    const refusing = await scripted([{ status: 422, body: { errors: [{ index: 0, message: 'missing name' }] } }]);
    const failing = await scripted([{ status: 500 }]);
    servers.push(refusing.server, failing.server);
    expect(await new TargetClient('qa', { baseUrl: refusing.url }).send(request)).toMatchObject({ status: 422, json: { errors: [{ index: 0 }] } });
    expect(refusing.seen).toHaveLength(1);
    const error = await new TargetClient('qa', { baseUrl: failing.url }, { attempts: 3 }).send(request).catch((err: unknown) => err);
    expect(isErrorCode(error, 'UNAVAILABLE') && (error as Error).message).toBe(`target qa: POST ${failing.url}/guests failed 3 times, last: HTTP 500`);
    expect(failing.seen).toHaveLength(3);
    const gone = await scripted([]);
    await new Promise((resolve) => gone.server.close(resolve));
    const unreachable = await new TargetClient('qa', { baseUrl: gone.url }, { attempts: 1 }).send(request).catch((err: unknown) => err);
    expect((unreachable as Error).message).toBe(`target qa: POST ${gone.url}/guests failed 1 times, last: fetch failed: ECONNREFUSED, connect ECONNREFUSED ${gone.url.slice('http://'.length)}`);
  });

  it('says which environment variable is missing for the auth header', async () => {
    const client = new TargetClient('qa', { baseUrl: 'http://127.0.0.1:9', auth: { header: 'Authorization', env: 'QA_TOKEN' } }, { env: {} });
    await expect(client.send(request)).rejects.toThrow(/^target qa: environment variable QA_TOKEN \(its Authorization\) is not set$/);
    expect(client.counters.retries).toBe(0);
  });
});
