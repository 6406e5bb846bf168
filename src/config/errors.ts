/**
 * Configuration problems: each one a coded issue with its file and line. The parser collects
 * every issue of a file, then throws one `ConfigError` that lists them all.
 */

export type ConfigIssueCode =
  | 'READ_FAILED' // the file could not be read or is not UTF-8
  | 'SYNTAX' // a line that is neither a section header nor `key = value`
  | 'KEY_OUTSIDE_SECTION'
  | 'UNKNOWN_SECTION'
  | 'BAD_SECTION_NAME'
  | 'DUPLICATE_SECTION'
  | 'UNKNOWN_KEY'
  | 'BAD_VALUE'
  | 'MISSING_KEY'
  | 'REPEATED_KEY'
  | 'UNKNOWN_SERVER'
  | 'UNKNOWN_USER'
  | 'NO_SERVER'
  | 'CONFLICT' // two settings that contradict each other
  | 'DUPLICATE_LISTEN';

export interface ConfigIssue {
  readonly file: string;
  /** 1-based; 0 when the issue concerns the whole file (a read error, no [server] at all). */
  readonly line: number;
  readonly code: ConfigIssueCode;
  readonly message: string;
}

/** `FILE:LINE: message`, or `FILE: message` for an issue about the whole file. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.line > 0
    ? `${issue.file}:${issue.line}: ${issue.message}`
    : `${issue.file}: ${issue.message}`;
}

/** Issues in file order; whole-file issues last. The sort is stable. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const key = (i: ConfigIssue): number => (i.line > 0 ? i.line : Number.MAX_SAFE_INTEGER);
  return issues.slice().sort((a, b) => key(a) - key(b));
}

export class ConfigError extends Error {
  readonly code = 'ERR_AMIPLEX_CONFIG';
  readonly issues: ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const sorted = sortIssues(issues);
    super(sorted.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = sorted;
  }
}
