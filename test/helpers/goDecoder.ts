// Starts the Go stand-in for Ollama's request decoding (test/helpers/goDecoder/main.go): built with the machine's
// `go` into a temp dir once per source version, then run on a loopback port for one test. CI installs Go
// (Debian's golang-go, see .ci/run); without it the tests that need the stand-in skip and say why.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Test } from 'tap'
import { normalizeModel } from '../../src/auth/modelAllowList.js'
import { projectPath } from './projectPath.js'

const source = projectPath('test/helpers/goDecoder')

/** Why the stand-in cannot run here (no `go`), or undefined when it can. */
export function goMissing(): string | undefined {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' })
  return version.status === 0
    ? undefined
    : 'go is not installed (Debian: apt-get install golang-go); .ci/run installs it'
}

/** The stand-in's binary, built when its source changed since the last build. */
function build(): string {
  const hash = createHash('sha256')
  for (const file of ['main.go', 'typed.go', 'go.mod']) hash.update(readFileSync(join(source, file)))
  const dir = join(tmpdir(), `parallama-go-decoder-${hash.digest('hex').slice(0, 16)}`)
  const binary = join(dir, 'decoder')
  if (existsSync(binary)) return binary
  mkdirSync(dir, { recursive: true })
  const partial = `${binary}.${process.pid}`
  // Offline and self-contained: no module downloads, and a build cache even where HOME is not set (CI).
  const env = { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod', GOCACHE: join(tmpdir(), 'parallama-go-cache') }
  const built = spawnSync('go', ['build', '-o', partial, '.'], { cwd: source, encoding: 'utf8', env })
  if (built.status !== 0) throw new Error(`go build of the decoder stand-in failed: ${built.stderr}`)
  renameSync(partial, binary)
  return binary
}

/** Runs the stand-in for the rest of test `t`; resolves with its base URL. */
export async function startGoDecoder(t: Test): Promise<string> {
  const child = spawn(build(), [], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => {
    child.kill()
  })
  const lines = createInterface({ input: child.stdout })
  const address = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`the decoder stand-in exited (${code})`)))
  })
  lines.close()
  return `http://${address}`
}

/** What the stand-in reports of a body it decoded: the fields Ollama would act on. */
export interface GoReport {
  decoded_models: string[]
  decoded_num_predict: number | null
  decoded_bytes: number
  decoded_stream: boolean
  decoded_include_usage: boolean
}

/**
 * Judges the stand-in's answer to a body the gateway forwarded: undefined when Go's decoder refused it (Ollama would
 * answer 400 and run nothing), else its report, once every model Go acts on is allowed and the first is the model the
 * gateway recorded. Throws (naming `body`) otherwise.
 */
export function checkGoReport(
  status: number,
  text: string,
  recorded: string | null,
  allowed: (model: string) => boolean,
  body: string,
  outcomes: { goRefused: number; decoded: number },
): GoReport | undefined {
  const report = JSON.parse(text) as GoReport & { error?: unknown }
  if (status === 400 && typeof report.error === 'string') {
    outcomes.goRefused++
    return undefined
  }
  outcomes.decoded++
  const models = report.decoded_models
  for (const model of models) {
    if (!allowed(model)) throw new Error(`Go acts on "${model}", which the key may not use: ${body}`)
  }
  if (recorded !== normalizeModel(models[0]!)) throw new Error(`recorded ${recorded}, Go runs ${models[0]}: ${body}`)
  return report
}
