/**
 * Reading astmanproxy's own files as astmanproxy read them: `key = value` lines, a `;` or `#`
 * ending the line's meaning, key names without case, blanks around names and values dropped,
 * a value in double quotes taken without them. Pure: text in, entries with their lines out.
 */

export interface AstEntry {
  /** 1-based line in its file. */
  readonly line: number;
  /** Lower case. */
  readonly key: string;
  readonly value: string;
}

/** The `key = value` lines of an astmanproxy.conf or astmanproxy.users text, in order. */
export function readAstmanproxyFile(text: string): AstEntry[] {
  const entries: AstEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    let line = raw;
    const quote = line.indexOf('"');
    const comment = line.search(/[;#]/);
    // A quoted value keeps a ; or # inside its quotes (astmanproxy 1.30 reads quoted values so).
    if (comment >= 0 && (quote < 0 || comment < quote)) line = line.slice(0, comment);
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const key = line.slice(0, eq).trim().toLowerCase();
    let value = line.slice(eq + 1).trim();
    const quoted = /^"([^"]*)"/.exec(value);
    if (quoted) value = quoted[1]!;
    if (key !== '') entries.push({ line: i + 1, key, value });
  });
  return entries;
}

/** A comma-separated astmanproxy value as its fields, trimmed (absent trailing fields are absent). */
export function fields(value: string): string[] {
  return value.split(',').map((f) => f.trim());
}
