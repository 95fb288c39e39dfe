// Shutdown is one ordered list of steps: a gateway that cannot listen and a gateway closed normally both run every
// step of it once, in order; closing twice runs nothing more.
import t from 'tap'
import { shutdownSteps } from '../../src/lifecycle.js'
import { startRig } from '../helpers/gateway.js'

const names = shutdownSteps.map((step) => step.name)

t.test('a normal close runs every step once, in order; a second close runs none', async (t) => {
  const steps: string[] = []
  const rig = await startRig(t, {}, {}, {}, { onShutdownStep: (name) => steps.push(name) })
  await rig.gateway.close()
  t.same(steps, names)
  await rig.gateway.close()
  t.same(steps, names, 'closing again runs nothing more')
  t.throws(() => rig.gateway.store.users.find('admin'), 'the database is closed')
})

t.test('a gateway that cannot listen runs the same steps once, then reports it', async (t) => {
  const first = await startRig(t)
  const steps: string[] = []
  const second = startRig(
    t,
    { server: { port: first.gateway.port } },
    {},
    {},
    { onShutdownStep: (name) => steps.push(name) },
  )
  await t.rejects(second, { code: 'listen_failed', message: /cannot listen/ })
  t.same(steps, names)
})
