/**
 * Structured logs (pino, JSON lines) on stderr. Quiet by default (warnings only); `-v` adds info,
 * `-vv` debug. Anything that looks like a secret is redacted before it is written.
 *
 * pino takes ~17 ms to load, and at the default level a command usually logs nothing: it is loaded
 * with the first line that passes the level.
 */
import { createRequire } from 'node:module';
import type { pino as Pino, Logger as PinoLogger } from 'pino';

/** The slice of pino's logger the CLI uses: one line of fields and a message. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

type Level = keyof Logger;

/** pino's level numbers. */
const LEVEL_VALUES: Readonly<Record<Level, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

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
  const level: Level = verbosity >= 2 ? 'debug' : verbosity === 1 ? 'info' : 'warn';
  let logger: PinoLogger | undefined;
  const writer =
    (at: Level) =>
    (fields: object, message: string): void => {
      if (LEVEL_VALUES[at] < LEVEL_VALUES[level]) return;
      logger ??= loadPino()(
        {
          name: 'failsafe',
          level,
          base: undefined,
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
        },
        destination,
      );
      logger[at](fields, message);
    };
  return { debug: writer('debug'), info: writer('info'), warn: writer('warn'), error: writer('error') };
}

/** pino is CommonJS, so it loads synchronously, in the middle of whatever logs first. */
function loadPino(): typeof Pino {
  return (createRequire(import.meta.url)('pino') as { pino: typeof Pino }).pino;
}
