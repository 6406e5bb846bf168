// @ts-check
/**
 * The first step of `npm test`: what the tests need from the system, before anything is built
 * or run. Missing Debian packages are installed when this runs as root on a machine with
 * apt-get (a fresh CI machine); otherwise it stops with the exact command to run.
 *
 *   - nc and curl: the demo test runs the lines the demo prints, as a newcomer would paste them;
 *   - nats-server: the NATS cluster tests start it;
 *   - the shared libraries of the browser the page tests drive (the Chromium that `npm ci`
 *     brings, see browser-binary.mjs), as `ldd` reports them.
 *
 * Plain JavaScript, run by node before TypeScript is compiled.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { testBrowser } from './browser-binary.mjs';

/** Commands the tests run, and the Debian package of each. */
export const COMMANDS = [
  { command: 'nc', pkg: 'netcat-openbsd', why: "the demo test runs the demo's printed nc line" },
  { command: 'curl', pkg: 'curl', why: "the demo test runs the demo's printed curl lines" },
  { command: 'nats-server', pkg: 'nats-server', why: 'the NATS cluster tests start it' },
];

/** The browser's shared libraries (sonames, as ldd names them) and the Debian package of each. */
export const LIBRARY_PACKAGES = {
  'libnss3.so': 'libnss3',
  'libnssutil3.so': 'libnss3',
  'libsmime3.so': 'libnss3',
  'libnspr4.so': 'libnspr4',
  'libplc4.so': 'libnspr4',
  'libplds4.so': 'libnspr4',
  'libexpat.so.1': 'libexpat1',
  'libstdc++.so.6': 'libstdc++6',
  'libgcc_s.so.1': 'libgcc-s1',
};

/** Whether `command` is an executable file on PATH. */
export function onPath(command, searchPath = process.env.PATH ?? '') {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/** The sonames that `ldd` reports as "not found" for a binary. */
export function missingLibraries(lddOutput) {
  return [...lddOutput.matchAll(/^\s*(\S+)\s+=>\s+not found\s*$/gm)].map((m) => /** @type {string} */ (m[1]));
}

/**
 * What to do about what is missing: nothing, install with apt-get, or stop with a message.
 * Pure, so the test suite can check every branch.
 *
 * @param {{ commands: { command: string; pkg: string; why: string }[]; libraries: string[]; root: boolean; aptGet: boolean }} missing
 * @returns {{ action: 'none' } | { action: 'install'; packages: string[]; reasons: string[] } | { action: 'stop'; message: string }}
 */
export function plan({ commands, libraries, root, aptGet }) {
  /** @type {Record<string, string>} */
  const byName = LIBRARY_PACKAGES;
  const unknown = libraries.filter((lib) => !(lib in byName));
  const packages = [...new Set([...commands.map((c) => c.pkg), ...libraries.filter((lib) => lib in byName).map((lib) => /** @type {string} */ (byName[lib]))])];
  const reasons = [
    ...commands.map((c) => `${c.command} (Debian package ${c.pkg}): ${c.why}`),
    ...(libraries.length > 0 ? [`the shared libraries of the test browser: ${libraries.join(', ')}`] : []),
  ];
  if (packages.length === 0 && unknown.length === 0) return { action: 'none' };
  if (unknown.length === 0 && root && aptGet) return { action: 'install', packages, reasons };
  const lines = ['npm test: the tests need what this machine lacks:', ...reasons.map((r) => `  - ${r}`)];
  if (packages.length > 0) {
    const sudo = root ? '' : 'sudo ';
    lines.push('Install it with:', `  ${sudo}apt-get update && ${sudo}apt-get install -y ${packages.join(' ')}`);
  }
  if (unknown.length > 0) lines.push(`No Debian package is known here for ${unknown.join(', ')}: install the package that provides it (apt-file search NAME).`);
  lines.push('then run npm test again.');
  return { action: 'stop', message: lines.join('\n') };
}

/** What is missing on this machine right now. */
async function survey() {
  const commands = COMMANDS.filter((c) => !onPath(c.command));
  let libraries = [];
  if (onPath('ldd')) {
    const ldd = spawnSync('ldd', [(await testBrowser()).executablePath], { encoding: 'utf8' });
    libraries = missingLibraries(`${ldd.stdout}`);
  }
  return { commands, libraries };
}

async function main() {
  const root = process.getuid?.() === 0;
  const aptGet = onPath('apt-get');
  const first = plan({ ...(await survey()), root, aptGet });
  if (first.action === 'none') return;
  if (first.action === 'stop') {
    process.stderr.write(`${first.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`npm test: installing ${first.packages.join(' ')} with apt-get, for:\n${first.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...first.packages], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const again = plan({ ...(await survey()), root, aptGet: false });
  if (again.action === 'stop') {
    process.stderr.write(`npm test: still missing after apt-get install:\n${again.message}\n`);
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
