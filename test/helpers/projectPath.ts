// A path inside the repository, whether the test runs as TypeScript from test/ or compiled from dist/test/ (npm test
// runs the compiled tests): the repository is the nearest folder above this file that holds package.json.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('no package.json above the test helpers')
    dir = parent
  }
  return dir
}

const root = repositoryRoot()

/** `relative` (e.g. test/helpers/goDecoder) as an absolute path in the repository. */
export function projectPath(relative: string): string {
  return join(root, relative)
}
