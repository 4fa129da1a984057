import { readFileSync } from 'node:fs';

/** A spec file that cannot be read or is not JSON; the message names the file. */
export class SpecFileError extends Error {}

/** Reads and parses a JSON spec file (not yet validated), with errors that name the file. */
export function readSpecFile(file: string | URL): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SpecFileError(
      `cannot read ${String(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SpecFileError(`${String(file)} is not valid JSON: ${(error as Error).message}`);
  }
}
