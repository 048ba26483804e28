/**
 * Control characters of names read from a run file (thread names, symbols, paths: anything the
 * target chose) as visible escapes (`\x1b`, `\n`), so that no name can move the cursor, colour a
 * terminal or break an output's one-line-per-item layout.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
