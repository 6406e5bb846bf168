// @ts-check
/**
 * The Chromium the browser tests drive: the headless build that the npm package
 * @sparticuz/chromium ships inside its tarball (bin/chromium.br, Brotli-compressed), so
 * `npm ci` brings it and nothing is downloaded or installed by hand.
 *
 * The package's own executablePath() unpacks into os.tmpdir()/chromium, shared by every
 * checkout and every version, and reuses whatever file is there, even one still being written
 * by a test file running in parallel. Here it is unpacked once per version into
 * node_modules/.cache/amiplex-chromium-VERSION/ (gone with the next `npm ci`), written under a
 * temporary name and renamed into place, so parallel test files never see half a binary.
 * Plain JavaScript: the test command's prerequisites check (prerequisites.mjs) runs it before
 * anything is built.
 */
import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createBrotliDecompress } from 'node:zlib';

/** The folder of the @sparticuz/chromium package (its `exports` name no file of its own, so from its entry point up). */
function packageDir() {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('@sparticuz/chromium')));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) !== 'chromium') {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('@sparticuz/chromium: package folder not found (run npm ci)');
    dir = up;
  }
  return dir;
}

/** Where the binary is, or will be once unpacked, and the compressed file it comes from. */
export function browserFiles() {
  const pkg = packageDir();
  const { version } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
  const cache = path.join(pkg, '..', '..', '.cache', `amiplex-chromium-${version}`);
  return { source: path.join(pkg, 'bin', 'chromium.br'), executable: path.join(cache, 'chromium'), version };
}

/** The path of the unpacked Chromium, unpacking it first if this version was never unpacked here. */
export async function browserExecutable() {
  const { source, executable } = browserFiles();
  if (existsSync(executable)) return executable;
  mkdirSync(path.dirname(executable), { recursive: true });
  const partial = `${executable}.${process.pid}.partial`;
  try {
    await pipeline(createReadStream(source), createBrotliDecompress(), createWriteStream(partial));
    chmodSync(partial, 0o755);
    // Atomic: another process unpacking at the same time replaces it with identical bytes.
    renameSync(partial, executable);
  } finally {
    rmSync(partial, { force: true });
  }
  return executable;
}
