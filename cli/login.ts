// `parallama login --sso`: signs in to a running gateway through its identity provider and prints the access token
// (or, with --json, the whole session pair) for scripts. The browser step cannot be skipped: the provider decides who
// the user is, so the command prints the address to open and waits for the browser to come back to it on loopback.
import type { CommandModule } from 'yargs'
import { guard, printJson, CliError } from './output.js'
import { configOption, loadConfigOrExit } from './options.js'
import { ssoLogin } from './ssoLogin.js'

interface LoginArgs {
  sso: boolean
  url?: string
  config?: string
  json: boolean
  timeout: number
}

async function login(args: LoginArgs) {
  if (!args.sso) throw new CliError('name how to sign in: --sso (a password login is POST /auth/v1/login)', 2)
  const url = args.url ?? gatewayFromConfig(args.config)
  const pair = await ssoLogin(url, {
    announce: (address) =>
      process.stderr.write(
        `Open this address in a browser to sign in (waiting ${args.timeout} s):\n\n  ${address}\n\n`,
      ),
    timeoutMs: args.timeout * 1000,
  })
  if (args.json) printJson(pair)
  else process.stdout.write(`${pair.access_token}\n`)
}

/** The configured gateway, as this box reaches it (like `parallama status`). */
function gatewayFromConfig(path: string | undefined): string {
  const { config } = loadConfigOrExit(path)
  const host = config.server.host
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  return `http://${reachable}:${config.server.port}`
}

export const loginCommand: CommandModule = {
  command: 'login',
  describe: 'sign in to a gateway with its identity provider (SSO) and print the access token for scripts',
  builder: (yargs) =>
    yargs.options({
      ...configOption,
      sso: { type: 'boolean', default: false, describe: 'sign in through the identity provider (a browser step)' },
      url: { type: 'string', describe: 'the gateway (default: the configured server address)' },
      json: { type: 'boolean', default: false, describe: 'print the whole session pair (with the refresh token)' },
      timeout: { type: 'number', default: 300, describe: 'seconds to wait for the browser' },
    }),
  handler: guard(login),
}
