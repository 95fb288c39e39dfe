// The dashboard's built files, read into memory once at start. A request is a lookup in that map by its exact path,
// never a file-system path: no request can name a file outside the folder (`..`, encoded or not, finds nothing), and
// no disk is read per request. Each file is kept gzipped too, for the clients that accept it.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { gzipSync } from 'node:zlib'

export interface StaticFile {
  body: Buffer
  /** The same bytes gzipped, or undefined when that is no smaller. */
  gzipped: Buffer | undefined
  contentType: string
  cacheControl: string
  /** A strong validator from the content, for If-None-Match. */
  etag: string
}

/** Files by their path inside the folder, `/`-separated, no leading slash. */
export type StaticFiles = ReadonlyMap<string, StaticFile>

/** The page itself: always revalidated, so that a new build's asset names are seen at once. */
export const indexFile = 'index.html'

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

/**
 * Every file under `dir` (none when the folder does not exist: the dashboard was not built). Every name but
 * index.html carries its content hash (the build names them so), so a cached copy can never be stale: `immutable`.
 */
export function loadStaticFiles(dir: string): StaticFiles {
  const files = new Map<string, StaticFile>()
  if (!existsSync(dir)) return files
  for (const path of walk(dir)) {
    const name = relative(dir, path).split(sep).join('/')
    const body = readFileSync(path)
    const gzipped = gzipSync(body, { level: 9 })
    files.set(name, {
      body,
      gzipped: gzipped.length < body.length ? gzipped : undefined,
      contentType: contentTypes[extname(name)] ?? 'application/octet-stream',
      cacheControl: name === indexFile ? 'no-cache' : 'public, max-age=31536000, immutable',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    })
  }
  return files
}

/** The file a path inside the mount names (`''` is the page), or undefined: only exact names of loaded files match. */
export function findStaticFile(files: StaticFiles, rest: string): StaticFile | undefined {
  return files.get(rest === '' ? indexFile : rest)
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) yield* walk(path)
    else yield path
  }
}
