// `parallama status`: whether a gateway answers on the configured address, and whether its backend does (the `/`
// heartbeat is proxied to Ollama). Exit 0 when both answer, 1 otherwise.
import type { CommandModule } from 'yargs'
import { request } from 'undici'
import { runningServer } from '../src/store/backup.js'
import { guard, printJson } from './output.js'
import { configOption, loadConfigOrExit } from './options.js'

/** Where to reach a server that listens on every interface. */
function reachable(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

async function status(args: { config?: string; json: boolean }) {
  const { config } = loadConfigOrExit(args.config)
  const url = `http://${reachable(config.server.host)}:${config.server.port}/`
  const pid = runningServer(config.database.path) ?? null
  let state: { running: boolean; backend: string; status?: number }
  try {
    const response = await request(url, { headersTimeout: 3000, bodyTimeout: 3000 })
    const body = await response.body.text()
    state =
      response.statusCode === 200
        ? { running: true, backend: 'answering', status: 200 }
        : {
            running: true,
            backend: `not answering (${response.statusCode}: ${body.slice(0, 200)})`,
            status: response.statusCode,
          }
  } catch {
    state = { running: false, backend: 'unknown', status: undefined }
  }
  if (args.json) printJson({ url, pid, ...state })
  else if (!state.running)
    process.stdout.write(`parallama is not running on ${url}${pid ? ` (pid ${pid} holds the database)` : ''}\n`)
  else process.stdout.write(`parallama is running on ${url}${pid ? ` (pid ${pid})` : ''}; backend ${state.backend}\n`)
  if (!state.running || state.status !== 200) process.exitCode = 1
}

export const statusCommand: CommandModule = {
  command: 'status',
  describe: 'whether the gateway (and its backend) answers on the configured address',
  builder: (yargs) =>
    yargs.options({ ...configOption, json: { type: 'boolean', default: false, describe: 'print JSON for scripts' } }),
  handler: guard(status),
}
