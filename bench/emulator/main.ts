// `npm run emulator -- --port 11434 --tokens 32 --delay-ms 10`: an Ollama emulator in the foreground.
import { parseArgs } from 'node:util'
import { catalogOf } from './catalog.js'
import { readKeepAlive } from './keepAlive.js'
import { faults, type Fault } from './options.js'
import type { SchedulerLimits } from './scheduler.js'
import { startEmulator } from './server.js'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '11434' },
    host: { type: 'string', default: '127.0.0.1' },
    tokens: { type: 'string' },
    'delay-ms': { type: 'string' },
    'first-token-ms': { type: 'string' },
    'chunk-bytes': { type: 'string' },
    dimensions: { type: 'string' },
    fault: { type: 'string' },
    parallel: { type: 'string' },
    'max-queue': { type: 'string' },
    'max-loaded': { type: 'string' },
    'load-ms': { type: 'string' },
    'keep-alive': { type: 'string' },
    models: { type: 'string' },
    preload: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

if (values.help) {
  process.stdout.write(
    'usage: npm run emulator -- [--port 11434] [--host 127.0.0.1] [--tokens 32] [--delay-ms 0] [--first-token-ms 0]\n' +
      `       [--chunk-bytes 0] [--dimensions 768] [--fault ${faults.join('|')}]\n` +
      '       [--parallel N] [--max-queue 512] [--max-loaded N] [--load-ms 0] [--keep-alive 5m]\n' +
      '       [--models a,b] [--preload a,b]\n' +
      'Each knob can also be set per request with an x-emulator-<knob> header.\n' +
      "Ollama's scheduler: --parallel is OLLAMA_NUM_PARALLEL (requests one loaded model runs at once, the rest wait\n" +
      'first come, first served), --max-queue OLLAMA_MAX_QUEUE (one more waiting request gets the 503 "server busy"),\n' +
      '--max-loaded OLLAMA_MAX_LOADED_MODELS (the least recently used idle model is evicted for another), --load-ms\n' +
      'the time a load takes, --keep-alive OLLAMA_KEEP_ALIVE (a request\'s "keep_alive" overrides it). Without them\n' +
      'nothing is limited and nothing waits: every request starts at once, as the emulator always did.\n' +
      '--models: hold only these models (/api/tags; others are 404). --preload: loaded at start (default: the first\n' +
      "model; --preload '' starts with nothing loaded, like a fresh Ollama).\n",
  )
  process.exit(0)
}

function fail(message: string): never {
  process.stderr.write(`emulator: ${message}\n`)
  process.exit(2)
}

function count(name: string, value: string | undefined, least = 0): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < least) {
    fail(`--${name} expects a whole number${least > 0 ? ` of at least ${least}` : ''}, got "${value}"`)
  }
  return Number(value)
}

if (values.fault !== undefined && !(faults as readonly string[]).includes(values.fault)) {
  fail(`--fault expects one of ${faults.join(', ')}, got "${values.fault}"`)
}

function keepAlive(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const read = readKeepAlive(/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value)
  if ('error' in read) fail(`--keep-alive expects a duration such as 5m, 30s or -1, got "${value}" (${read.error})`)
  return read.ms
}

const names = (value: string | undefined): string[] | undefined =>
  value === undefined ? undefined : value.split(',').filter((name) => name.trim() !== '')

function defined<T extends object>(entries: T): Partial<T> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<T>
}

const knobs = defined({
  tokens: count('tokens', values.tokens),
  delayMs: count('delay-ms', values['delay-ms']),
  firstTokenMs: count('first-token-ms', values['first-token-ms']),
  chunkBytes: count('chunk-bytes', values['chunk-bytes']),
  dimensions: count('dimensions', values.dimensions),
  fault: values.fault as Fault | undefined,
})

const scheduler: Partial<SchedulerLimits> = defined({
  parallel: count('parallel', values.parallel, 1),
  maxQueue: count('max-queue', values['max-queue']),
  maxLoaded: count('max-loaded', values['max-loaded'], 1),
  loadMs: count('load-ms', values['load-ms']),
  keepAliveMs: keepAlive(values['keep-alive']),
})

const models = names(values.models)
if (models?.length === 0) fail('--models expects a comma-separated list of model names, got none')

const emulator = await startEmulator({
  port: count('port', values.port),
  host: values.host,
  knobs,
  scheduler,
  ...(models ? { models: catalogOf(models) } : {}),
  ...(values.preload !== undefined ? { preload: names(values.preload) } : {}),
}).catch((error: Error) => fail(error.message))
process.stdout.write(`Ollama emulator listening on ${emulator.url}\n`)
const stop = (): void => void emulator.close().then(() => process.exit(0))
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
