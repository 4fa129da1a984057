/**
 * Text from a spec as it may be shown in a terminal or a status: everything
 * but printable ASCII is escaped (`\u001b`, `\u200b`, `\u0430`, `\\`), so an
 * escape sequence in a key cannot drive the terminal, and a zero-width or
 * look-alike character cannot pass for a field's name (every field name is
 * ASCII).
 */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x5b\x5d-\x7e]/gu, (char) => {
    const named = NAMED[char];
    if (named !== undefined) return named;
    const code = char.codePointAt(0)!;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const NAMED: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A message with every control, format (zero-width, bidirectional) and line
 * separator character escaped; the rest, typographic quotes and dashes
 * included, as it is. For messages that may quote what a spec says.
 */
export function withoutControls(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (char) => printable(char));
}
