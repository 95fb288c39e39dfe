// Plugins reload with the config: on SIGHUP the new chain replaces the old once all of it loaded; a chain that fails to
// load keeps the running one (and the log says which module and why); at start-up it stops the gateway, naming it.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { projectPath } from '../helpers/projectPath.js'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'
import { serveProcess } from '../helpers/serveProcess.js'
import { runCli } from '../helpers/cli.js'
import { pluginModule } from '../helpers/pluginModules.js'

const stamp = projectPath('dist/src/plugins/examples/headerStamp.js')
const broken = pluginModule('broken')

function configText(dir: string, backend: string, plugins: string): string {
  return [
    'server:\n  port: 0',
    `backends:\n  - url: ${backend}`,
    `database:\n  path: ${join(dir, 'parallama.db')}`,
    `auth:\n  jwt_secret_file: ${join(dir, 'jwt.key')}`,
    `plugins:\n${plugins}`,
  ].join('\n')
}
const stamped = (value: string) => `  - module: ${stamp}\n    options: { header: x-served-by, value: ${value} }\n`

/** Waits until the process has printed `count` lines matching `pattern` (no timing is asserted). */
async function printed(output: () => string, pattern: RegExp, count: number): Promise<void> {
  const global = new RegExp(pattern.source, 'g')
  while ((output().match(global) ?? []).length < count) await sleep(20)
}

t.test('SIGHUP swaps the chain; a broken one is refused and the running one stays', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const dir = mkdtempSync(join(tmpdir(), 'parallama-plugins-'))
  const configFile = join(dir, 'parallama.yaml')
  writeFileSync(configFile, configText(dir, emulator.url, stamped('one')))
  const cli = (args: string[]) => runCli([...args, '--config', configFile])
  t.equal((await cli(['user', 'add', 'ops', '--role', 'admin', '--no-password'])).code, 0)
  const key = (await cli(['key', 'create', '--user', 'ops'])).stdout.trim()
  const server = serveProcess(configFile, {})
  t.teardown(() => server.child.kill('SIGKILL'))
  const port = await server.listening
  const servedBy = async () => {
    const response = await request(`http://127.0.0.1:${port}/api/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'x', stream: false }),
    })
    await response.body.text()
    return response.headers['x-served-by']
  }
  t.equal(await servedBy(), 'one')

  writeFileSync(configFile, configText(dir, emulator.url, stamped('two')))
  server.child.kill('SIGHUP')
  await printed(() => server.output(), /"msg":"plugins reloaded"/, 1)
  t.equal(await servedBy(), 'two', 'the new chain serves the next request')

  writeFileSync(configFile, configText(dir, emulator.url, `${stamped('three')}  - module: ${broken}\n`))
  server.child.kill('SIGHUP')
  await printed(() => server.output(), /"msg":"plugin reload failed; the running plugins stay"/, 1)
  t.match(server.output(), /broken\.mjs: its factory failed: broken on purpose/, 'the log names the module and why')
  t.equal(await servedBy(), 'two', 'the running chain stays whole (not half of the new one)')

  writeFileSync(configFile, configText(dir, emulator.url, '  []\n'))
  server.child.kill('SIGHUP')
  await printed(() => server.output(), /"msg":"plugins reloaded"/, 2)
  t.equal(await servedBy(), undefined, 'no plugins at all')
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
})

t.test('a plugin that cannot load stops start-up with a message naming it', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const dir = mkdtempSync(join(tmpdir(), 'parallama-plugins-'))
  const configFile = join(dir, 'parallama.yaml')
  writeFileSync(configFile, configText(dir, emulator.url, `  - module: ${broken}\n`))
  const server = serveProcess(configFile, {})
  server.listening.catch(() => {})
  t.equal(await server.exited, 1)
  t.match(server.output(), /"msg":"cannot start".*broken\.mjs: its factory failed: broken on purpose/)
})
