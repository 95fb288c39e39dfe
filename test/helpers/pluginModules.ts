// Plugin modules for tests, written once per process into a temp dir as plain ES modules (what an admin installs):
// `probe` calls whatever hooks the test puts on globalThis.parallamaProbe (the test and the gateway share one
// process); `broken`'s factory throws, so that loading it fails.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const sources = {
  probe: `export default function createProbe(options) {
  const probe = (globalThis.parallamaProbe ??= {})
  return {
    name: options.name ?? 'probe',
    onRequest: (request) => probe.onRequest?.(request),
    onResponseChunk: (chunk, info) => probe.onResponseChunk?.(chunk, info),
    onEnd: (result) => probe.onEnd?.(result),
    close: () => probe.onClose?.(options.name ?? 'probe'),
  }
}
`,
  broken: `export default function createBroken() {
  throw new Error('broken on purpose')
}
`,
}

let dir: string | undefined

/** The absolute path of a test plugin module. */
export function pluginModule(name: keyof typeof sources): string {
  dir ??= mkdtempSync(join(tmpdir(), 'parallama-plugin-modules-'))
  const path = join(dir, `${name}.mjs`)
  writeFileSync(path, sources[name])
  return path
}
