// `npm run emulator -- --port 11434 --tokens 32 --delay-ms 10`: an Ollama emulator in the foreground.
import { parseArgs } from 'node:util'
import { faults, type Fault } from './options.js'
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
    help: { type: 'boolean', default: false },
  },
})

if (values.help) {
  process.stdout.write(
    'usage: npm run emulator -- [--port 11434] [--host 127.0.0.1] [--tokens 32] [--delay-ms 0] [--first-token-ms 0]\n' +
      `       [--chunk-bytes 0] [--dimensions 768] [--fault ${faults.join('|')}]\n` +
      'Each knob can also be set per request with an x-emulator-<knob> header.\n',
  )
  process.exit(0)
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) {
    process.stderr.write(`emulator: --${name} expects a whole number, got "${value}"\n`)
    process.exit(2)
  }
  return Number(value)
}

if (values.fault !== undefined && !(faults as readonly string[]).includes(values.fault)) {
  process.stderr.write(`emulator: --fault expects one of ${faults.join(', ')}, got "${values.fault}"\n`)
  process.exit(2)
}

const knobs = Object.fromEntries(
  Object.entries({
    tokens: count('tokens', values.tokens),
    delayMs: count('delay-ms', values['delay-ms']),
    firstTokenMs: count('first-token-ms', values['first-token-ms']),
    chunkBytes: count('chunk-bytes', values['chunk-bytes']),
    dimensions: count('dimensions', values.dimensions),
    fault: values.fault as Fault | undefined,
  }).filter(([, value]) => value !== undefined),
)

const emulator = await startEmulator({ port: count('port', values.port), host: values.host, knobs })
process.stdout.write(`Ollama emulator listening on ${emulator.url}\n`)
const stop = (): void => void emulator.close().then(() => process.exit(0))
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
