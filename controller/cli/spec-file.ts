import { readFileSync } from 'node:fs';
import { JsonTextError, parseJsonText } from '../spec/json-text.ts';
import { printable } from '../spec/printable.ts';
import { MAX_SPEC_DEPTH } from '../spec/schema.ts';

/** A spec file that cannot be read or is not strict JSON; the message names the file. */
export class SpecFileError extends Error {}

/**
 * Reads and parses a JSON spec file (not yet validated), with errors that name
 * the file and place the problem by line and column: a repeated key or bytes
 * that are not UTF-8 are refused, not read past (see json-text.ts).
 */
export function readSpecFile(file: string | URL): unknown {
  const name = printable(String(file));
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new SpecFileError(
      `cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    return parseJsonText(bytes, MAX_SPEC_DEPTH);
  } catch (error) {
    if (error instanceof JsonTextError) throw new SpecFileError(`${name} ${error.message}`);
    throw error;
  }
}
