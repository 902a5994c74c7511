/**
 * `COPY ... TO STDOUT` as a readable stream of the rows' bytes, for the `pg` client.
 *
 * Written by hand rather than taken from pg-copy-streams' copy-to, which it otherwise follows: the
 * server sends every row as its own CopyData message, and copy-to takes each one through a list of
 * buffers, then joins them into a new buffer per socket read. Receiving the bench database's 1.77 M
 * rows (122 MB) took 0.44 s of Node's user CPU that way. Here each socket read is compacted in place
 * (the rows' bytes moved left over the 5-byte message headers between them) and handed on as one view
 * of it: no allocation per row, and 0.27 s for the same rows.
 *
 * It takes the socket over as copy-to does: while the COPY runs, `pg`'s data listener is set aside
 * and this stream reads the socket itself; at the end of the copy (or at an ErrorResponse, which may
 * also come first) the listener gets the socket back with the bytes not consumed, and `pg` goes on
 * with CommandComplete / ErrorResponse and ReadyForQuery as after any query.
 */
import { Readable } from 'node:stream';

const ERROR_RESPONSE = 0x45; // E
const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
/** Messages the server may send between CopyData messages; any other ends the copy. */
const INTERSPERSED = new Set([
  0x48, // H CopyOutResponse
  0x4e, // N NoticeResponse
  0x41, // A NotificationResponse
  0x53, // S ParameterStatus
]);
const HEADER_BYTES = 5;

/** What `pg`'s Client hands a submittable query: its connection, with the socket underneath. */
interface PgConnection {
  readonly stream: Readable;
  query(text: string): void;
}

export class CopyOutStream extends Readable {
  readonly #sql: string;
  #connection: PgConnection | undefined;
  #pgDataHandler: ((data: Buffer) => void) | undefined;
  readonly #onReadable = (): void => this.#forward();
  /** The start of a message header that the last socket read cut off. */
  #partialHeader: Buffer | undefined;
  /** Bytes of the current message still to come in later reads. */
  #remaining = 0;
  /** Whether those bytes are row data (CopyData) or skipped (a notice). */
  #remainingIsData = false;
  /** The consumer asked for more and has not said stop. */
  #wanted = false;
  #forwarding = false;
  #finished = false;

  constructor(sql: string) {
    super();
    this.#sql = sql;
  }

  /** Called by `pg` when the query's turn comes. */
  submit(connection: PgConnection): void {
    this.#connection = connection;
    const socket = connection.stream;
    const [pgDataHandler] = socket.listeners('data') as ((data: Buffer) => void)[];
    if (!pgDataHandler) throw new Error('COPY TO: the connection has no data listener to take over');
    this.#pgDataHandler = pgDataHandler;
    socket.removeListener('data', pgDataHandler);
    socket.pause();
    socket.on('readable', this.#onReadable);
    connection.query(this.#sql);
  }

  /** Called by `pg` for an ErrorResponse (handed back to it) or a failed connection. */
  handleError(err: Error): void {
    this.destroy(err);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {}

  override _read(): void {
    this.#wanted = true;
    this.#forward();
  }

  #forward(): void {
    if (this.#forwarding || this.#finished || !this.#connection) return;
    this.#forwarding = true;
    try {
      for (let chunk: Buffer | null; this.#wanted && !this.#finished && (chunk = this.#connection.stream.read() as Buffer | null) !== null; ) {
        this.#wanted = this.#take(chunk);
      }
    } finally {
      this.#forwarding = false;
    }
  }

  /** Consumes one socket read; returns whether the consumer wants more. */
  #take(chunk: Buffer): boolean {
    const bytes = this.#partialHeader ? Buffer.concat([this.#partialHeader, chunk]) : chunk;
    this.#partialHeader = undefined;
    let rowsEnd = 0; // the rows' bytes are moved to bytes[0, rowsEnd)
    let at = 0;
    const copy = (count: number): void => {
      if (rowsEnd !== at) bytes.copyWithin(rowsEnd, at, at + count);
      rowsEnd += count;
    };
    if (this.#remaining > 0) {
      const count = Math.min(this.#remaining, bytes.length);
      if (this.#remainingIsData) copy(count);
      at = count;
      this.#remaining -= count;
    }
    while (this.#remaining === 0 && at < bytes.length) {
      if (bytes.length - at < HEADER_BYTES) {
        this.#partialHeader = Buffer.from(bytes.subarray(at));
        break;
      }
      const code = bytes[at]!;
      if (code === ERROR_RESPONSE) return this.#finish(bytes.subarray(at), undefined);
      if (code !== COPY_DATA && !INTERSPERSED.has(code)) {
        // The end of the copy: pg gets what follows CopyDone (CommandComplete, ReadyForQuery), or
        // any other message that ends it, whole.
        const wanted = rowsEnd > 0 ? this.push(bytes.subarray(0, rowsEnd)) : true;
        return this.#finish(bytes.subarray(code === COPY_DONE ? at + HEADER_BYTES : at), wanted);
      }
      const length = bytes.readUInt32BE(at + 1) - 4;
      at += HEADER_BYTES;
      const count = Math.min(length, bytes.length - at);
      if (code === COPY_DATA) copy(count);
      at += count;
      this.#remaining = length - count;
      this.#remainingIsData = code === COPY_DATA;
    }
    return rowsEnd > 0 ? this.push(bytes.subarray(0, rowsEnd)) : true;
  }

  /**
   * Gives the socket back to `pg` with `rest` (what follows the copy, or an ErrorResponse, which pg
   * turns into handleError). `wanted` undefined: an error, the stream does not end normally.
   */
  #finish(rest: Buffer, wanted: boolean | undefined): boolean {
    this.#finished = true;
    const socket = this.#connection!.stream;
    socket.removeListener('readable', this.#onReadable);
    socket.on('data', this.#pgDataHandler!);
    this.#pgDataHandler!(rest);
    // pg's handler may pause the socket again while it parses: resume once it is done.
    process.nextTick(() => socket.resume());
    if (wanted !== undefined) this.push(null);
    return false;
  }
}
