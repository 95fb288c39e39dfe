// npm test runs the compiled tests from dist/test/, so a test that finds a fixture from its own location finds it in
// dist/ (where it is not): fixtures are found from the repository root with test/helpers/projectPath.ts instead.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { projectPath } from '../helpers/projectPath.js'

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

t.test('no test finds files from its own location', async (t) => {
  const own = /import\.meta\.(dirname|filename)|new URL\([^)]*import\.meta\.url/
  const offenders = sources(projectPath('test')).filter(
    (file) => !file.endsWith('projectPath.ts') && own.test(readFileSync(file, 'utf8')),
  )
  t.same(offenders, [], 'use projectPath() from test/helpers/projectPath.ts')
})
