/**
 * Structured logs (pino, JSON lines) on stderr. Quiet by default (warnings only); `-v` adds info,
 * `-vv` debug. Anything that looks like a secret is redacted before it is written.
 */
import { pino, type Logger } from 'pino';

const REDACTED_PATHS = [
  'password',
  '*.password',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'credentials',
  '*.credentials',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];

export function createLogger(verbosity: number, destination: NodeJS.WritableStream = process.stderr): Logger {
  const level = verbosity >= 2 ? 'debug' : verbosity === 1 ? 'info' : 'warn';
  return pino(
    {
      name: 'failsafe',
      level,
      base: undefined,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
