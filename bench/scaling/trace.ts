import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

/** Demand on one region, one number per minute. */
export interface Trace {
  /** Short name, as in the report. */
  name: string;
  /** What the trace models, in a line. */
  description: string;
  /** The trace's own number for its first minute (0 for generated traces). */
  firstMinute: number;
  /** Requests in each minute, from `firstMinute` on. */
  requests: readonly number[];
}

/** A trace file that cannot be used: where and why, for a person to fix. */
export interface TraceError {
  kind: 'InvalidTrace';
  /** The file (or other source) the trace came from. */
  source: string;
  /** 1-based line number, when one line is at fault. */
  line?: number;
  message: string;
}

export type TraceResult = { ok: true; trace: Trace } | { ok: false; error: TraceError };

/** Longest span a trace file may cover: a leap year of minutes keeps the run to seconds. */
export const MAX_TRACE_MINUTES = 366 * 24 * 60;

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses `minute,requests` lines. The first line may be a header (any line whose
 * fields are not numbers); blank lines and lines starting with `#` are skipped.
 * Minutes must be whole, non-negative and increasing; requests non-negative.
 * Minutes missing between two lines count as minutes with no requests (which
 * publish no datapoint). A byte-order mark and quoted fields are accepted.
 */
export function parseTraceCsv(text: string, source: string, name = source): TraceResult {
  const fail = (message: string, line?: number): TraceResult => ({
    ok: false,
    error: { kind: 'InvalidTrace', source, ...(line === undefined ? {} : { line }), message },
  });
  const requests: number[] = [];
  let firstMinute: number | undefined;
  let previous: number | undefined;
  let filled = 0;
  let seenLine = false;
  // A spreadsheet's export may start with a byte-order mark.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    // Quoted fields ("0","12") are common in exports; the quotes carry nothing here.
    const fields = line.split(',').map((f) =>
      f
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    );
    if (fields.length !== 2) {
      return fail(`expected "minute,requests" (2 fields), found ${fields.length}: "${line}"`, lineNo);
    }
    const [minuteText, requestsText] = fields as [string, string];
    const first = !seenLine;
    seenLine = true;
    if (first && !NUMBER.test(minuteText) && !NUMBER.test(requestsText)) continue; // the header
    if (!NUMBER.test(minuteText)) return fail(`minute "${minuteText}" is not a number`, lineNo);
    if (!NUMBER.test(requestsText)) return fail(`requests "${requestsText}" is not a number`, lineNo);
    const minute = Number(minuteText);
    const count = Number(requestsText);
    if (!Number.isInteger(minute) || minute < 0) {
      return fail(`minute ${minuteText} must be a whole number, 0 or more`, lineNo);
    }
    if (!Number.isFinite(count) || count < 0) {
      return fail(`requests ${requestsText} must be a non-negative number`, lineNo);
    }
    if (previous !== undefined && minute <= previous) {
      return fail(`minute ${minute} does not follow minute ${previous}: minutes must increase`, lineNo);
    }
    firstMinute ??= minute;
    if (minute - firstMinute >= MAX_TRACE_MINUTES) {
      return fail(
        `minute ${minute} is more than ${MAX_TRACE_MINUTES} minutes after the first (${firstMinute}); split the trace`,
        lineNo,
      );
    }
    if (previous !== undefined) {
      for (let gap = previous + 1; gap < minute; gap += 1) requests.push(0);
      filled += minute - previous - 1;
    }
    requests.push(count);
    previous = minute;
  }
  if (firstMinute === undefined) return fail('holds no "minute,requests" line');
  return {
    ok: true,
    trace: {
      name,
      description:
        `${source}: ${requests.length} minutes` +
        (filled > 0 ? ` (${filled} missing minutes counted as 0 requests: no datapoint)` : ''),
      firstMinute,
      requests,
    },
  };
}

/** Reads and parses a trace file; a missing or unreadable file is a TraceError too. */
export async function readTraceFile(path: string, name = basename(path)): Promise<TraceResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      error: {
        kind: 'InvalidTrace',
        source: path,
        message: code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`,
      },
    };
  }
  return parseTraceCsv(text, path, name);
}

/** "file line 7: message", or "file: message". */
export function describeTraceError(error: TraceError): string {
  return `${error.source}${error.line === undefined ? '' : ` line ${error.line}`}: ${error.message}`;
}
