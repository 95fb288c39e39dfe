// The route list in docs/auth.md, rendered from the route table so that the two cannot drift apart: `npm run
// docs:routes` writes it between its marker lines, and a test fails when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs'
import type { RouteAccess } from '../auth/permissions.js'
import { authAliasMount, authMount, ollamaMounts, openAiMounts, routeId, routeTable, type Route } from './routeTable.js'

export const routeDocsBegin = '<!-- routes: generated from src/api/routeTable.ts by `npm run docs:routes` -->'
export const routeDocsEnd = '<!-- routes: end -->'

/** The generated section (unaligned Markdown: prettier aligns the table). */
export function renderRouteDocs(): string {
  const rows = routeTable.map(
    (route) =>
      `| \`${routeId(route)}\` | ${route.methods.map((method) => `\`${method}\``).join(', ')} | ` +
      `\`${route.paths[0]!.replace(/\*$/, '{model}')}\` | ${accessText(route.access)} | ${tokensText(route)} |`,
  )
  const [, ...ollamaAlso] = ollamaMounts
  const [, ...openAiAlso] = openAiMounts
  return [
    '| route | methods | path | permission | tokens |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...wrapped(
      `The native API's paths also answer under ${ollamaAlso.map((mount) => `\`${mount}/...\``).join(' and ')} ` +
        `(for \`${ollamaMounts[0]}/...\`); the OpenAI API's under ${openAiAlso.map((mount) => `\`${mount}/...\``).join(', ')} ` +
        `(for \`${openAiMounts[0]}/...\`); the auth API's under the deprecated \`${authAliasMount}/...\` ` +
        `(for \`${authMount}/...\`, see [api-versioning.md](api-versioning.md)). The route name is how usage rows and ` +
        'logs name the route.',
    ),
  ].join('\n')
}

/** Prose wrapped at the docs' line width (prettier keeps a paragraph's line breaks as they are). */
function wrapped(text: string, width = 120): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  return [...lines, line]
}

function accessText(access: RouteAccess): string {
  if (access === 'public') return 'none'
  if (access === 'authenticated') return 'any valid credential'
  return `\`${access}\``
}

function tokensText(route: Route): string {
  return route.kind === 'proxy' && route.tokens !== 'none' ? route.tokens : ''
}

/** `text` with its generated section replaced by the current one. */
export function withRouteDocs(text: string): string {
  const begin = text.indexOf(routeDocsBegin)
  const end = text.indexOf(routeDocsEnd)
  if (begin < 0 || end < begin) throw new Error(`no lines ${routeDocsBegin} ... ${routeDocsEnd}`)
  return `${text.slice(0, begin + routeDocsBegin.length)}\n\n${renderRouteDocs()}\n\n${text.slice(end)}`
}

/** Rewrites the generated section of a Markdown file (run prettier on it after). */
export function writeRouteDocs(file: string): void {
  writeFileSync(file, withRouteDocs(readFileSync(file, 'utf8')))
}
