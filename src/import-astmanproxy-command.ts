/**
 * `amiplex import-astmanproxy ASTMANPROXY.CONF [ASTMANPROXY.USERS]`: prints the equivalent
 * proxy.conf on standard output, one warning per line on standard error (FILE:LINE: what has
 * no equivalent). Exit 1 only when a file cannot be read.
 */
import { readFileSync } from 'node:fs';

import { importAstmanproxy } from './import/astmanproxy-import.js';

export function importAstmanproxyCommand(confFile: string, usersFile: string | undefined, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): number {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      stderr.write(`amiplex: cannot read ${file}: ${(err as Error).message}\n`);
      return undefined;
    }
  };
  const confText = read(confFile);
  const usersText = usersFile === undefined ? undefined : read(usersFile);
  if (confText === undefined || (usersFile !== undefined && usersText === undefined)) return 1;
  const result = importAstmanproxy({ confFile, confText, ...(usersFile !== undefined ? { usersFile, usersText: usersText! } : {}) });
  stdout.write(result.conf);
  for (const warning of result.warnings) stderr.write(`warning: ${warning}\n`);
  return 0;
}
