// The plugin host on its own: a reload replaces the chain only once all of it loaded, the replaced chain is closed
// after its grace time (requests that started on it may still be streaming), and stopping closes every chain.
import t from 'tap'
import { createLogger } from '../../src/logger.js'
import { PluginHost } from '../../src/plugins/loader.js'
import { pluginModule } from '../helpers/pluginModules.js'

const probe = ((globalThis as any).parallamaProbe ??= {}) as { onClose?: (name: string) => void }

t.test('reload swaps, retires and closes; a failed reload keeps the running chain', async (t) => {
  const logs: string[] = []
  const logger = createLogger('info', (line) => logs.push(line))
  const closed: string[] = []
  let wake: (() => void) | undefined
  probe.onClose = (name) => {
    closed.push(name)
    wake?.()
  }
  t.teardown(() => delete probe.onClose)
  const entry = (name: string) => ({ module: pluginModule('probe'), options: { name }, timeout: 1000 })
  const host = await PluginHost.start([entry('first')], logger)
  t.same(
    host.chain?.plugins.map((plugin) => plugin.name),
    ['first'],
  )
  const first = host.chain
  t.equal(await host.reload([entry('second'), { module: pluginModule('broken'), options: {}, timeout: 1000 }]), false)
  t.equal(host.chain, first, 'a chain that failed to load never replaces the running one')
  t.match(logs.join(''), /plugin reload failed; the running plugins stay.*broken\.mjs: its factory failed/)
  t.same(closed, ['second'], 'the half-loaded new chain was let go')
  const retired = new Promise<void>((resolve) => (wake = resolve))
  t.equal(await host.reload([entry('third')], 5), true)
  t.same(
    host.chain?.plugins.map((plugin) => plugin.name),
    ['third'],
  )
  // The grace timer does not hold a stopping process open (unref): this test holds it.
  const alive = setInterval(() => {}, 1000)
  await retired
  clearInterval(alive)
  t.same(closed, ['second', 'first'], 'the replaced chain is closed after its grace time')
  t.equal(await host.reload([], 60_000), true)
  t.equal(host.chain, undefined, 'no plugins: no chain at all')
  await host.close()
  t.same(closed, ['second', 'first', 'third'], 'stopping closes a chain still in its grace time')
})
