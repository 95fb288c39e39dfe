// The dashboard's files are found by exact name only: whatever path a request carries (dot segments, encodings,
// slashes, absolute paths), it finds a file that was loaded under that very name, or nothing — never a file outside
// the folder.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { findStaticFile, indexFile, loadStaticFiles } from '../../src/http/staticFiles.js'

const root = mkdtempSync(join(tmpdir(), 'parallama-static-'))
const served = join(root, 'ui')
mkdirSync(join(served, 'assets'), { recursive: true })
writeFileSync(join(root, 'secret.txt'), 'outside the folder')
writeFileSync(join(served, indexFile), '<!doctype html>')
writeFileSync(join(served, 'main-ABCDEFGH.js'), 'console.log(1)')
writeFileSync(join(served, 'assets', 'logo-ABCDEFGH.svg'), '<svg/>')
const files = loadStaticFiles(served)

t.test('loads every file under the folder, by its relative name, and nothing else', async (t) => {
  t.same([...files.keys()].sort(), ['assets/logo-ABCDEFGH.svg', indexFile, 'main-ABCDEFGH.js'])
  t.equal(files.get(indexFile)!.cacheControl, 'no-cache')
  t.match(files.get('main-ABCDEFGH.js')!.cacheControl, /immutable/)
  t.equal(files.get('main-ABCDEFGH.js')!.contentType, 'text/javascript; charset=utf-8')
  t.equal(findStaticFile(files, '')!.body.toString(), '<!doctype html>', 'the mount itself is the page')
  t.equal(loadStaticFiles(join(root, 'absent')).size, 0, 'an unbuilt dashboard is an empty map, not a crash')
})

const segment = fc.oneof(
  fc.constantFrom('..', '.', '', '%2e%2e', '%2E%2E', '..%2f', '..\\', 'secret.txt', 'assets', 'ui', indexFile),
  fc.constantFrom('main-ABCDEFGH.js', 'logo-ABCDEFGH.svg', '%00', '~', '/etc/passwd'),
  fc.string({ maxLength: 12 }),
)

t.test('a generated path finds a loaded file under exactly that name, or nothing', async () => {
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 6 }), fc.boolean(), (segments, leadingSlash) => {
      const rest = (leadingSlash ? '/' : '') + segments.join('/')
      const found = findStaticFile(files, rest)
      if (found === undefined) return
      const name = rest === '' ? indexFile : rest
      if (files.get(name) !== found) throw new Error(`"${rest}" found a file not loaded under that name`)
      if (rest.includes('..') || found.body.toString() === 'outside the folder') {
        throw new Error(`"${rest}" reached outside the folder`)
      }
    }),
    { numRuns: 2000 },
  )
})
