/**
 * The INI tokenizer: text in, entries with their 1-based line numbers out. Pure.
 *
 * The dialect is Asterisk's (manager.conf): `[header]` lines, `key = value` lines, `;` starts
 * a comment anywhere on a line, `\;` is a literal `;` (a backslash before anything else is
 * kept as it is), blank lines are skipped, blanks around keys and values are trimmed and the
 * value is otherwise kept exactly. What the header or key means is not decided here.
 */

export type IniEntry =
  /** `header` is the text between the brackets, trimmed. */
  | { readonly type: 'section'; readonly line: number; readonly header: string }
  | { readonly type: 'key'; readonly line: number; readonly key: string; readonly value: string }
  | { readonly type: 'error'; readonly line: number; readonly message: string };

/**
 * A line without its comment, `\;` turned into `;`. Blanks are not trimmed.
 */
export function stripComment(line: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x5c /* \ */ && line.charCodeAt(i + 1) === 0x3b /* ; */) {
      out += line.slice(start, i) + ';';
      i++;
      start = i + 1;
    } else if (c === 0x3b) {
      return out + line.slice(start, i);
    }
  }
  return out + line.slice(start);
}

// Tabs are fine; any other control character (a stray CR, NUL, ESC) would end up on the wire.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

export function tokenizeIni(text: string): IniEntry[] {
  const entries: IniEntry[] = [];
  const lines = (text.startsWith('\ufeff') ? text.slice(1) : text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let raw = lines[i]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const entry = tokenizeLine(raw, line);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

function tokenizeLine(raw: string, line: number): IniEntry | undefined {
  if (CONTROL.test(raw)) {
    return { type: 'error', line, message: 'control character in line (only tabs are allowed)' };
  }
  const text = stripComment(raw).trim();
  if (text === '') return undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { type: 'error', line, message: 'section header has no closing "]"' };
    if (close !== text.length - 1) {
      return { type: 'error', line, message: 'unexpected text after "]" in section header' };
    }
    return { type: 'section', line, header: text.slice(1, close).trim() };
  }
  if (text.startsWith('#')) {
    return { type: 'error', line, message: '#include and other directives are not supported' };
  }
  const eq = text.indexOf('=');
  if (eq < 0) {
    // The text is not quoted: it may be a secret written without its key.
    return { type: 'error', line, message: 'expected "key = value" or a [section] header' };
  }
  const key = text.slice(0, eq).trim();
  if (key === '') return { type: 'error', line, message: 'missing key name before "="' };
  return { type: 'key', line, key, value: text.slice(eq + 1).trim() };
}
