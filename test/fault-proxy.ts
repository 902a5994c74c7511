/**
 * An HTTP proxy that injects the failures S3 clients meet in production: 500/503 answers with S3 error
 * bodies, connections reset before an answer, and answers lost after the server applied the request (the
 * client sees a failure although its PUT or DELETE took effect). Which request fails is decided by a
 * seeded PRNG, so a sequential workload sees the same faults on every run.
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FaultKind = 'error-500' | 'error-503' | 'reset' | 'drop-response';
export const FAULT_KINDS: readonly FaultKind[] = ['error-500', 'error-503', 'reset', 'drop-response'];

export interface FaultProxyOptions {
  /** Where requests are forwarded, e.g. the S3 server's `http://127.0.0.1:<port>`. */
  readonly target: string;
  /** Fraction of requests that fail, 0..1. */
  readonly failureRate: number;
  readonly seed: number;
  /** Which faults to inject, equally likely. Default: all of {@link FAULT_KINDS}. */
  readonly faults?: readonly FaultKind[];
}

export interface FaultProxyStats {
  readonly requests: number;
  /** Requests that reached the target (including those whose answer was then dropped). */
  readonly forwarded: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** Every request in arrival order: `PUT /bucket/key?partNumber=2&uploadId=…` and the fault, if any. */
  readonly log: ReadonlyArray<{ readonly method: string; readonly url: string; readonly fault?: FaultKind }>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`; use path-style addressing. */
  readonly endpoint: string;
  /** Live counters. */
  readonly stats: FaultProxyStats;
  /** Changes the failure rate from now on, e.g. 0 to set up data. */
  setFailureRate(rate: number): void;
  stop(): Promise<void>;
}

const ERROR_BODIES: Record<'error-500' | 'error-503', { status: number; code: string; message: string }> = {
  'error-500': { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  'error-503': { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
};
/** Headers that describe one connection, not the message; the proxy's own connections set their own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/**
 * Starts the proxy on 127.0.0.1 with a random port.
 *
 * @example
 * const proxy = await startFaultProxy({ target: s3.endpoint, failureRate: 0.1, seed: 42 });
 * // point the S3 client at proxy.endpoint; afterwards: proxy.stats.faults, await proxy.stop()
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const kinds = options.faults ?? FAULT_KINDS;
  const random = mulberry32(options.seed);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  let failureRate = options.failureRate;
  const stats = {
    requests: 0,
    forwarded: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    log: [] as Array<{ method: string; url: string; fault?: FaultKind }>,
  };

  const forward = (req: IncomingMessage, res: ServerResponse, dropResponse: boolean): void => {
    stats.forwarded++;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // The Host header is part of the SigV4 signature, so it goes through unchanged.
        headers: withoutHopByHop(req.headers),
        agent,
      },
      (answer) => {
        if (dropResponse) {
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    stats.requests++;
    const fault = random() < failureRate ? kinds[Math.floor(random() * kinds.length)] : undefined;
    stats.log.push({ method: req.method ?? '?', url: req.url ?? '', ...(fault === undefined ? {} : { fault }) });
    if (fault !== undefined) stats.faults[fault]++;
    switch (fault) {
      case undefined:
        return forward(req, res, false);
      case 'drop-response':
        return forward(req, res, true);
      case 'reset':
        req.socket.destroy();
        return;
      case 'error-500':
      case 'error-503': {
        const { status, code, message } = ERROR_BODIES[fault];
        const body =
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
          `<RequestId>fault-${stats.requests}</RequestId></Error>`;
        // Read the whole request first, as a real server would, so the client is not cut off mid-upload.
        req.on('error', () => undefined);
        req.resume();
        req.on('end', () => {
          res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
          res.end(req.method === 'HEAD' ? undefined : body);
        });
        return;
      }
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setFailureRate(rate) {
      failureRate = rate;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}

function withoutHopByHop(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) result[name] = value;
  }
  return result;
}

/** A small, fast, seedable PRNG (public domain); returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
