/**
 * What the line-based input formats (xml, json) share: a stream cut into lines within a limit,
 * and the check every header a client sends must pass to be written on the AMI wire. Pure.
 */
import type { AmiHeader } from '../src/ami/message.js';

const BAD_VALUE = /[\r\n\0]/;

/** Whether `name` is visible ASCII other than `:` (a loop: it runs for every header of every action a client sends). */
function isHeaderName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x3a) return false;
  }
  return true;
}

/**
 * Why a header cannot be sent to a PBX as it is, or undefined when it can: an empty name, a name
 * holding anything but visible ASCII other than `:`, a value holding CR, LF or NUL (they would
 * split the action on the wire). Names and values are byte strings.
 */
export function headerProblem([name, value]: AmiHeader, noun: 'header' | 'parameter' = 'header'): string | undefined {
  const Noun = noun === 'header' ? 'Header' : 'Parameter';
  if (name === '') return `A ${noun} has an empty name`;
  if (!isHeaderName(name)) return `${Noun} name '${printable(name)}' is not a header name (visible ASCII, no colon)`;
  if (BAD_VALUE.test(value)) return `${Noun} ${name} holds a CR, LF or NUL, which cannot be sent in an AMI header`;
  return undefined;
}

/** A byte string shown in a message: control characters escaped, at most 64 characters. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 64);
}

/**
 * Cuts a byte stream into lines (LF or CRLF; the line end removed), as byte strings. A line over
 * `maxLineBytes` is reported once (`tooLong`) and skipped up to its end: nothing is truncated.
 */
export class LineReader {
  private partial = '';
  private skipping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly line: (text: string) => void,
    private readonly tooLong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let text = chunk.toString('latin1');
    for (;;) {
      const lf = text.indexOf('\n');
      if (lf < 0) {
        if (!this.skipping) this.partial += text;
        if (this.partial.length > this.maxLineBytes) {
          this.partial = '';
          this.skipping = true;
          this.tooLong();
        }
        return;
      }
      const piece = text.slice(0, lf);
      text = text.slice(lf + 1);
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      let whole = this.partial + piece;
      this.partial = '';
      if (whole.length + 1 > this.maxLineBytes) {
        this.tooLong();
        continue;
      }
      if (whole.endsWith('\r')) whole = whole.slice(0, -1);
      this.line(whole);
    }
  }
}
