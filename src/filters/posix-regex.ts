/**
 * POSIX extended regular expressions (what Asterisk's eventfilter compiles with
 * `regcomp(REG_EXTENDED | REG_NOSUB)`, glibc flavour) translated to a JavaScript RegExp that
 * finds a match in the same strings. Pure.
 *
 * Only match/no-match matters (REG_NOSUB): POSIX's leftmost-longest rule and JavaScript's
 * backtracking find a match in exactly the same strings. What the translation takes care of:
 * - `.` and `[^…]` match a newline (no REG_NEWLINE), `^`/`$` anchor at the ends of the whole
 *   text only: the RegExp gets the `s` flag and no `m` flag.
 * - Bracket expressions: `[[:digit:]]` and the other classes (C locale, ASCII), `[=a=]`, `[.a.]`,
 *   `]` first taken literally, and a backslash inside brackets is an ordinary character.
 * - Backslash outside brackets: glibc's `\w \W \s \S \b \B \< \> \` \'` and back-references
 *   `\1`…`\9`; any other escaped character is that character (`\d` is a "d", `\n` an "n").
 * - Intervals: `{,n}` means `{0,n}`; a malformed interval is an error, as in glibc.
 * - An unmatched `)` is an ordinary character (glibc's ERE syntax).
 * - A repetition applied to a repetition (`a*?`, `a+*`) repeats the whole repeated atom, as
 *   POSIX reads it (`(a*)?`), never JavaScript's lazy quantifier.
 * - Constructs POSIX has not got are errors, as regcomp would report them: `(?…)` groups and
 *   a repetition with nothing before it.
 * Not handled: multi-character collating elements (`[.space.]`) are refused; bytes above 0x7f
 * are matched as bytes (a `[[:alpha:]]` never matches them), as in the C locale.
 */

export type PosixRegexResult = { readonly ok: true; readonly regex: RegExp } | { readonly ok: false; readonly reason: string };

const CLASSES: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: '0-9A-Za-z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\v\\f\\r',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
  xdigit: '0-9A-Fa-f',
};

/** Characters that need a backslash to stand for themselves in a JavaScript pattern. */
const JS_SPECIAL = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}', '/']);

function literal(c: string): string {
  return JS_SPECIAL.has(c) ? '\\' + c : c;
}

/** A character inside a JavaScript class. */
function classChar(c: string): string {
  return c === '\\' || c === ']' || c === '[' || c === '^' || c === '-' ? '\\' + c : c;
}

class PosixSyntaxError extends Error {}

/** Compiles a POSIX extended regular expression; the reason says what regcomp would object to. */
export function compilePosixRegex(pattern: string): PosixRegexResult {
  let source: string;
  try {
    source = translate(pattern);
  } catch (err) {
    if (err instanceof PosixSyntaxError) return { ok: false, reason: err.message };
    throw err;
  }
  try {
    return { ok: true, regex: new RegExp(source, 's') };
  } catch (err) {
    return { ok: false, reason: (err as Error).message.replace(/^Invalid regular expression: /, '') };
  }
}

function translate(p: string): string {
  let out = '';
  /** Where the last atom (the thing a repetition applies to) starts in `out`; -1: none. */
  let atom = -1;
  /** Whether the last thing emitted is a repetition. */
  let repeated = false;
  const opens: number[] = [];
  let groups = 0;

  const emitAtom = (text: string): void => {
    atom = out.length;
    out += text;
    repeated = false;
  };
  const emitRepeat = (q: string, at: number): void => {
    if (atom < 0) throw new PosixSyntaxError(`repetition "${q}" at offset ${at} has nothing to repeat`);
    if (repeated) out = out.slice(0, atom) + '(?:' + out.slice(atom) + ')';
    out += q;
    repeated = true;
  };
  const emitOther = (text: string): void => {
    out += text;
    atom = -1;
    repeated = false;
  };

  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    switch (c) {
      case '\\': {
        if (i + 1 >= p.length) throw new PosixSyntaxError('trailing backslash');
        const e = p[++i]!;
        if (e >= '1' && e <= '9') {
          if (Number(e) > groups) throw new PosixSyntaxError(`back-reference \\${e} names no group`);
          emitAtom('\\' + e);
        } else if (e === 'w' || e === 'W') emitAtom('\\' + e);
        else if (e === 's') emitAtom('[ \\t\\n\\v\\f\\r]');
        else if (e === 'S') emitAtom('[^ \\t\\n\\v\\f\\r]');
        else if (e === 'b' || e === 'B') emitOther('\\' + e);
        else if (e === '<') emitOther('\\b(?=\\w)');
        else if (e === '>') emitOther('\\b(?<=\\w)');
        else if (e === '`') emitOther('^');
        else if (e === "'") emitOther('$');
        else emitAtom(literal(e));
        break;
      }
      case '[': {
        const end = bracket(p, i);
        emitAtom(end.source);
        i = end.next - 1;
        break;
      }
      case '(':
        if (p[i + 1] === '?') throw new PosixSyntaxError(`"(?" at offset ${i}: POSIX has no (?…) groups`);
        opens.push(out.length);
        groups++;
        out += '(';
        atom = -1;
        repeated = false;
        break;
      case ')':
        if (opens.length === 0) {
          emitAtom('\\)');
        } else {
          const start = opens.pop()!;
          out += ')';
          atom = start;
          repeated = false;
        }
        break;
      case '*':
      case '+':
      case '?':
        emitRepeat(c, i);
        break;
      case '{': {
        const m = /^\{(\d*)(,(\d*))?\}/.exec(p.slice(i));
        if (m === null || (m[1] === '' && m[2] === undefined)) throw new PosixSyntaxError(`malformed interval at offset ${i}`);
        const min = m[1] === '' ? '0' : m[1]!;
        const max = m[2] === undefined ? undefined : m[3]!;
        if (max !== undefined && max !== '' && Number(max) < Number(min)) throw new PosixSyntaxError(`interval {${m[1]}${m[2]}} at offset ${i}: maximum below minimum`);
        if (Number(min) > 32767 || (max !== undefined && Number(max) > 32767)) throw new PosixSyntaxError(`interval at offset ${i}: counts above 32767`);
        emitRepeat(max === undefined ? `{${min}}` : `{${min},${max}}`, i);
        i += m[0].length - 1;
        break;
      }
      case '^':
      case '$':
      case '|':
        emitOther(c);
        break;
      case '.':
        emitAtom('.');
        break;
      default:
        emitAtom(literal(c));
    }
  }
  if (opens.length > 0) throw new PosixSyntaxError('unmatched "("');
  return out;
}

/** A bracket expression starting at `p[start] === '['`: its JavaScript class and the index after it. */
function bracket(p: string, start: number): { source: string; next: number } {
  let j = start + 1;
  let negate = false;
  if (p[j] === '^') {
    negate = true;
    j++;
  }
  let body = '';
  let first = true;
  for (;;) {
    if (j >= p.length) throw new PosixSyntaxError(`unmatched "[" at offset ${start}`);
    const c = p[j]!;
    if (c === ']' && !first) break;
    first = false;
    if (c === '[' && (p[j + 1] === ':' || p[j + 1] === '=' || p[j + 1] === '.')) {
      const kind = p[j + 1]!;
      const close = p.indexOf(kind + ']', j + 2);
      if (close < 0) throw new PosixSyntaxError(`unterminated "[${kind}" at offset ${j}`);
      const name = p.slice(j + 2, close);
      j = close + 2;
      if (kind === ':') {
        const set = CLASSES[name];
        if (set === undefined) throw new PosixSyntaxError(`unknown character class [:${name}:]`);
        body += set;
        continue;
      }
      if (name.length !== 1) throw new PosixSyntaxError(`collating element [${kind}${name}${kind}] is not supported`);
      body += rangeOrChar(p, name, j, (n) => (j = n));
      continue;
    }
    j++;
    body += rangeOrChar(p, c, j, (n) => (j = n));
  }
  return { source: `[${negate ? '^' : ''}${body}]`, next: j + 1 };
}

/** `c`, or the range `c-x` when `p[j]` is a `-` that starts one (not a final `-`). */
function rangeOrChar(p: string, c: string, j: number, moveTo: (j: number) => void): string {
  if (p[j] !== '-' || j + 1 >= p.length || p[j + 1] === ']') return classChar(c);
  let end = p[j + 1]!;
  let next = j + 2;
  if (end === '[' && p[j + 2] === '.') {
    const close = p.indexOf('.]', j + 3);
    if (close < 0) throw new PosixSyntaxError(`unterminated "[." at offset ${j + 1}`);
    end = p.slice(j + 3, close);
    if (end.length !== 1) throw new PosixSyntaxError(`collating element [.${end}.] is not supported`);
    next = close + 2;
  }
  if (end < c) throw new PosixSyntaxError(`invalid range ${c}-${end}`);
  moveTo(next);
  return `${classChar(c)}-${classChar(end)}`;
}
