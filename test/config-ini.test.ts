import { describe, expect, it } from 'vitest';
import { stripComment, tokenizeIni } from '../src/config/ini.js';

describe('stripComment', () => {
  it('cuts the line at the first ";"', () => {
    expect(stripComment('host = a ; the PBX')).toBe('host = a ');
    expect(stripComment('; whole line')).toBe('');
    expect(stripComment('a;b;c')).toBe('a');
  });

  it('turns "\\;" into a literal ";" and keeps other backslashes', () => {
    expect(stripComment('secret = a\\;b ; comment')).toBe('secret = a;b ');
    expect(stripComment('x = \\;\\;')).toBe('x = ;;');
    expect(stripComment('path = C:\\dir\\n')).toBe('path = C:\\dir\\n');
    expect(stripComment('x = a\\')).toBe('x = a\\');
  });
});

describe('tokenizeIni', () => {
  it('gives sections and keys with their 1-based lines, skipping blanks and comments', () => {
    const text = '; top comment\n\n[general]\n  listen =  127.0.0.1:1 \n\t; indented comment\n[server  a ]\nhost=h\n';
    expect(tokenizeIni(text)).toEqual([
      { type: 'section', line: 3, header: 'general' },
      { type: 'key', line: 4, key: 'listen', value: '127.0.0.1:1' },
      { type: 'section', line: 6, header: 'server  a' },
      { type: 'key', line: 7, key: 'host', value: 'h' },
    ]);
  });

  it('keeps values exactly: case, inner blanks, "=" after the first one', () => {
    expect(tokenizeIni('[x]\nsecret = Ab C=d==\n')[1]).toEqual({ type: 'key', line: 2, key: 'secret', value: 'Ab C=d==' });
  });

  it('accepts an empty value', () => {
    expect(tokenizeIni('k =\n')).toEqual([{ type: 'key', line: 1, key: 'k', value: '' }]);
  });

  it('reads CRLF files and a leading BOM', () => {
    expect(tokenizeIni('\ufeff[general]\r\nlog_level = info\r\n')).toEqual([
      { type: 'section', line: 1, header: 'general' },
      { type: 'key', line: 2, key: 'log_level', value: 'info' },
    ]);
  });

  it('reports malformed lines with their line numbers', () => {
    const text = [
      '[general', // 1
      '[server a] extra', // 2
      'just words', // 3
      '= value', // 4
      '#include other.conf', // 5
      'x = a\rb', // 6
      'y = tab\tok', // 7
    ].join('\n');
    expect(tokenizeIni(text)).toEqual([
      { type: 'error', line: 1, message: 'section header has no closing "]"' },
      { type: 'error', line: 2, message: 'unexpected text after "]" in section header' },
      { type: 'error', line: 3, message: 'expected "key = value" or a [section] header' },
      { type: 'error', line: 4, message: 'missing key name before "="' },
      { type: 'error', line: 5, message: '#include and other directives are not supported' },
      { type: 'error', line: 6, message: 'control character in line (only tabs are allowed)' },
      { type: 'key', line: 7, key: 'y', value: 'tab\tok' },
    ]);
  });

  it('applies comments before deciding what a line is', () => {
    expect(tokenizeIni('[general] ; the main section\n')).toEqual([{ type: 'section', line: 1, header: 'general' }]);
    expect(tokenizeIni('[a\\;b]\n')).toEqual([{ type: 'section', line: 1, header: 'a;b' }]);
  });
});
