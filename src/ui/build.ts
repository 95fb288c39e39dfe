// Builds the dashboard (src/ui/app) into dist/ui: one script and one stylesheet bundled by esbuild, named by their
// content hash (cached for a year by the gateway, docs/dashboard.md), and the index.html that loads them — no inline
// script or style, so the page runs under a Content-Security-Policy without 'unsafe-inline'. Run by `npm run build`;
// prints the gzipped size of the JavaScript and fails past the budget.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

/** The most JavaScript the dashboard may send, gzipped (issue 14). */
export const jsBudgetBytes = 150 * 1024

export interface DashboardBuild {
  /** The names written into the output folder. */
  files: string[]
  /** Every .js file gzipped, added up. */
  jsGzipBytes: number
}

/** The checkout: two levels up from src/ui, three from dist/src/ui. */
function checkoutRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url))
  const up = resolve(here, '../..')
  return basename(up) === 'dist' ? resolve(up, '..') : up
}

export async function buildDashboard(outDir = join(checkoutRoot(), 'dist', 'ui')): Promise<DashboardBuild> {
  // A fresh folder: the gateway serves every file in it, so no stale hashed file of an older build may linger.
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const result = await build({
    entryPoints: [join(checkoutRoot(), 'src', 'ui', 'app', 'main.tsx')],
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
  })
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path))
  const script = outputs.find((name) => name.endsWith('.js'))
  const style = outputs.find((name) => name.endsWith('.css'))
  if (!script || !style) throw new Error(`the dashboard build made no script or no stylesheet: ${outputs.join(', ')}`)
  writeFileSync(join(outDir, 'index.html'), indexHtml(script, style))
  const jsGzipBytes = outputs
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + gzipSync(readFileSync(join(outDir, name)), { level: 9 }).length, 0)
  return { files: readdirSync(outDir).sort(), jsGzipBytes }
}

/** The page: a stylesheet, a module script and the element the app renders into. Asset paths are relative to /ui/. */
function indexHtml(script: string, style: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<title>Parallama</title>',
    `<link rel="stylesheet" href="${style}">`,
    `<script type="module" src="${script}"></script>`,
    '</head>',
    '<body><div id="app"></div></body>',
    '</html>',
    '',
  ].join('\n')
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (invokedDirectly) {
  const built = await buildDashboard()
  const kb = (built.jsGzipBytes / 1024).toFixed(1)
  console.log(
    `dashboard: ${built.files.length} files in dist/ui, JS ${kb} KB gzipped (budget ${jsBudgetBytes / 1024} KB)`,
  )
  if (built.jsGzipBytes > jsBudgetBytes) {
    console.error(`dashboard: the JavaScript is over its budget of ${jsBudgetBytes / 1024} KB gzipped`)
    process.exitCode = 1
  }
}
