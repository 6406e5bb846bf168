// @ts-check
/**
 * The Chromium the browser tests drive: the headless build that the npm package
 * @sparticuz/chromium ships inside its tarball (bin/chromium.br, Brotli-compressed), so
 * `npm ci` brings it and nothing is downloaded or installed by hand. With it, the font the
 * package ships (bin/fonts.tar.br): this Chromium aborts on the first text it draws when
 * fontconfig finds no font at all, as on a minimal Debian.
 *
 * The package's own executablePath() unpacks into os.tmpdir()/chromium, shared by every
 * checkout and every version, and reuses whatever file is there, even one still being written
 * by a test file running in parallel. Here both are unpacked once per version into
 * node_modules/.cache/amiplex-chromium-VERSION/ (gone with the next `npm ci`), written under a
 * temporary name and renamed into place, so parallel test files never see half a binary.
 * Plain JavaScript: the test command's prerequisites check (prerequisites.mjs) runs it before
 * anything is built.
 */
import { spawn } from 'node:child_process';
import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** Where the package's compressed files are, and where they are unpacked. */
export function browserFiles() {
  const pkg = packageDir();
  const { version } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
  const cache = path.join(pkg, '..', '..', '.cache', `amiplex-chromium-${version}`);
  return {
    version,
    bin: path.join(pkg, 'bin'),
    cache,
    executable: path.join(cache, 'chromium'),
    fonts: path.join(cache, 'fonts'),
    fontconfig: path.join(cache, 'fonts.conf'),
  };
}

/** Unpacks into `target` through a temporary sibling, renamed into place when complete. */
async function unpackOnce(target, unpack) {
  if (existsSync(target)) return;
  mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  try {
    await unpack(partial);
    try {
      renameSync(partial, target);
    } catch (err) {
      // Another process put a complete one there first (a folder cannot be renamed over it).
      if (!existsSync(target)) throw err;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/**
 * A Brotli-compressed tar file extracted into `dir` (by Debian's tar: the test browser is for
 * Linux only). Decompressed to a file first: tar stops reading at the archive's end marker and
 * may exit before the padding after it is written, which a pipe into its stdin reports as a
 * premature close now and then.
 */
async function untarBrotli(file, dir) {
  mkdirSync(dir, { recursive: true });
  const tarFile = `${dir}.tar`;
  try {
    await pipeline(createReadStream(file), createBrotliDecompress(), createWriteStream(tarFile));
    const tar = spawn('tar', ['-x', '-f', tarFile, '-C', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    await new Promise((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve(undefined) : reject(new Error(`tar exited with ${code} extracting ${file}`))));
    });
  } finally {
    rmSync(tarFile, { force: true });
  }
}

/**
 * The unpacked Chromium and the environment to launch it with (FONTCONFIG_FILE: the system's
 * fonts when there are any, and the package's font in any case), unpacking first if this version
 * was never unpacked here.
 */
export async function testBrowser() {
  const f = browserFiles();
  await unpackOnce(f.executable, async (partial) => {
    await pipeline(createReadStream(path.join(f.bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(partial));
    chmodSync(partial, 0o755);
  });
  await unpackOnce(f.fonts, (partial) => untarBrotli(path.join(f.bin, 'fonts.tar.br'), partial));
  await unpackOnce(f.fontconfig, async (partial) => {
    const xml = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      '<fontconfig>',
      '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
      `  <dir>${f.fonts}</dir>`,
      `  <cachedir>${path.join(f.cache, 'fontconfig-cache')}</cachedir>`,
      '</fontconfig>',
      '',
    ].join('\n');
    writeFileSync(partial, xml);
  });
  return { executablePath: f.executable, env: { ...process.env, FONTCONFIG_FILE: f.fontconfig } };
}
