/**
 * Values in `COPY ... FROM STDIN`'s text format: fields separated by tabs, `\N` for NULL, and
 * backslash, tab, newline and carriage return escaped with a backslash.
 */

/** The NULL marker of COPY's text format. */
export const COPY_NULL = '\\N';

/** A text value as COPY's text format writes it; `null` (or undefined) gives `\N`. */
export function copyTextField(value: string | null | undefined): string {
  if (value === null || value === undefined) return COPY_NULL;
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, escapeChar) : value;
}

function escapeChar(char: string): string {
  switch (char) {
    case '\\':
      return '\\\\';
    case '\t':
      return '\\t';
    case '\n':
      return '\\n';
    default:
      return '\\r';
  }
}
