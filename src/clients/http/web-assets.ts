/**
 * The status page's browser files, served from one folder (dist/web, written by `npm run build`
 * from src/web). Only plain file names of known types directly in that folder are served: no
 * sub-folders, no `..`, no hidden files, nothing reached through a link out of the folder. Each
 * file carries its content type, an ETag (a hash of its bytes) for a cheap `304 Not Modified`,
 * and the Cache-Control its caller picks. Files are read once and again only when they change.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import type { HeaderMap } from './http-reply.js';

/** Content type by extension; a file of any other type is not served. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
});

const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;

export interface WebAsset {
  readonly name: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

interface Cached {
  readonly mtimeMs: number;
  readonly size: number;
  readonly asset: WebAsset;
}

export class WebAssets {
  private readonly cache = new Map<string, Cached>();
  private realRoot: string | undefined;

  constructor(readonly root: string) {}

  /** Whether the folder exists (it does once `npm run build` ran). */
  get built(): boolean {
    return existsSync(this.root);
  }

  /** The file `name` of the folder, or undefined when there is no such servable file. */
  async load(name: string): Promise<WebAsset | undefined> {
    const contentType = CONTENT_TYPES[path.extname(name).toLowerCase()];
    if (!PLAIN_NAME.test(name) || contentType === undefined) return undefined;
    const file = path.join(this.root, name);
    let info;
    try {
      this.realRoot ??= await realpath(this.root);
      // A link inside the folder that points out of it is not served either.
      if (path.dirname(await realpath(file)) !== this.realRoot) return undefined;
      info = await stat(file);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const cached = this.cache.get(name);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.asset;
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return undefined;
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const asset: WebAsset = { name, body, contentType, etag };
    this.cache.set(name, { mtimeMs: info.mtimeMs, size: info.size, asset });
    return asset;
  }
}

/** Answers with the file (or 304 when the client's copy is current); HEAD gets the headers only. */
export function sendAsset(req: http.IncomingMessage, res: http.ServerResponse, asset: WebAsset, cacheControl: string, headers: HeaderMap = {}): void {
  const common: HeaderMap = {
    ...headers,
    'Cache-Control': cacheControl,
    ETag: asset.etag,
    'X-Content-Type-Options': 'nosniff',
  };
  if (matches(req.headers['if-none-match'], asset.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  res.writeHead(200, { ...common, 'Content-Type': asset.contentType, 'Content-Length': String(asset.body.length) });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
