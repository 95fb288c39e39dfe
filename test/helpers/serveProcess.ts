// Runs the built `parallama serve` as an admin would, and resolves once it logs that it is listening.
import { spawn } from 'node:child_process'

export interface ServeProcess {
  child: ReturnType<typeof spawn>
  /** The port it listens on. */
  listening: Promise<number>
  exited: Promise<number | null>
  /** Everything it printed so far. */
  output(): string
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
  return { child, listening, exited, output: () => output }
}
