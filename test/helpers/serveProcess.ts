// Runs the built `parallama serve` as an admin would, and resolves once it logs that it is listening.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

export interface ServeProcess {
  child: ReturnType<typeof spawn>
  /** The port it listens on. */
  listening: Promise<number>
  exited: Promise<number | null>
  /** Everything it printed so far. */
  output(): string
  /** Resolves once it has printed a line matching `pattern` (a reload is done when it says so); rejects after 30 s. */
  printed(pattern: RegExp): Promise<void>
}

export function serveProcess(configFile: string, env: Record<string, string>): ServeProcess {
  const child = spawn(process.execPath, ['dist/cli/index.js', 'serve', '--config', configFile], {
    env: { PATH: process.env.PATH, ...env },
  })
  let output = ''
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString()
      const match = /"msg":"listening".*"port":(\d+)/.exec(output)
      if (match) resolve(Number(match[1]))
    })
    child.stderr.on('data', (data: Buffer) => (output += data.toString()))
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)))
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const printed = async (pattern: RegExp) => {
    for (const deadline = Date.now() + 30_000; !pattern.test(output); await sleep(20)) {
      if (Date.now() > deadline) throw new Error(`never printed ${pattern}: ${output}`)
    }
  }
  return { child, listening, exited, output: () => output, printed }
}
