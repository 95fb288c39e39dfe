// Runs `parallama` commands inside the test's own process: the real command tree (cli/commands.ts), with stdin,
// stdout, stderr, the environment and the exit code as a spawned `parallama` would see and show them — without a
// node start-up (~0.5 s of CPU) per command. What only the binary proves (its exit on a signal, `| head`, serve) stays
// spawned from dist/cli in the tests that check it.
import { Readable, Writable } from 'node:stream'
import { format } from 'node:util'
import { commandTree } from '../../cli/commands.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** What the command reads on stdin (none: an empty, non-terminal stdin, as spawnSync gives). */
  input?: string
  /** Variables set for the command's run only, over the test's environment. */
  env?: Record<string, string>
}

/** process.exit() inside a command: ends the command, as it would end the process. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`)
  }
}

// One command at a time: a run swaps process-wide streams, so two at once would mix their output.
let queue: Promise<unknown> = Promise.resolve()

/** Runs `parallama ...args` in-process; resolves with what it printed and its exit code. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  if (args[0] === 'serve') throw new Error('serve runs as a process: use test/helpers/serveProcess.ts')
  const run = queue.then(() => runNow(args, options))
  queue = run.catch(() => undefined)
  return run
}

async function runNow(args: string[], options: CliOptions): Promise<CliResult> {
  const out = { stdout: '', stderr: '' }
  const restore = swapProcess(out, options)
  let code: number
  try {
    await commandTree(args).parseAsync()
    code = process.exitCode === undefined ? 0 : Number(process.exitCode)
  } catch (error) {
    if (error instanceof Exit) code = error.code
    else {
      // What node prints for an uncaught error, and its exit code.
      out.stderr += `${error instanceof Error ? error.stack : String(error)}\n`
      code = 1
    }
  } finally {
    restore()
  }
  return { code, ...out }
}

/** Points stdin, stdout, stderr, console, exit, exitCode and env at this run; returns what puts them back. */
function swapProcess(out: { stdout: string; stderr: string }, options: CliOptions): () => void {
  const streams = ['stdin', 'stdout', 'stderr'] as const
  const saved = streams.map((name) => Object.getOwnPropertyDescriptor(process, name)!)
  const consoleSaved = { log: console.log, info: console.info, warn: console.warn, error: console.error }
  const exit = Object.getOwnPropertyDescriptor(process, 'exit')!
  const { exitCode } = process
  const envSaved = Object.fromEntries(Object.keys(options.env ?? {}).map((name) => [name, process.env[name]]))

  const sink = (into: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        out[into] += chunk.toString()
        done()
      },
    })
  const stdin = Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)])
  const replacements = { stdin, stdout: sink('stdout'), stderr: sink('stderr') }
  for (const name of streams) {
    Object.defineProperty(process, name, { value: replacements[name], configurable: true, enumerable: true })
  }
  const print =
    (into: 'stdout' | 'stderr') =>
    (...values: unknown[]) =>
      (out[into] += format(...values) + '\n')
  console.log = console.info = print('stdout')
  console.warn = console.error = print('stderr')
  process.exit = (code?: number | string | null) => {
    throw new Exit(Number(code ?? process.exitCode ?? 0))
  }
  process.exitCode = undefined
  Object.assign(process.env, options.env)

  return () => {
    streams.forEach((name, i) => Object.defineProperty(process, name, saved[i]!))
    Object.assign(console, consoleSaved)
    Object.defineProperty(process, 'exit', exit)
    process.exitCode = exitCode
    for (const [name, value] of Object.entries(envSaved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}
