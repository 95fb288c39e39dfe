// Attack (issue 12 review): timeouts.connect is not marked `restart`, so a reload reports it applied live — yet it is
// a setting of the backends' connection pools, which a reload rebuilt only when the backends list itself changed: the
// old connect timeout stayed in force, silently, until a restart or an unrelated backend edit.
import t from 'tap'
import { configFrom } from '../../src/config/load.js'
import { startRig } from '../helpers/gateway.js'

t.test('a reload that changes timeouts.connect gives the backends pools built with it', async (t) => {
  const rig = await startRig(t)
  const before = rig.gateway.backends.map((backend) => backend.pool)
  const next = configFrom({
    ...structuredClone(rig.config),
    timeouts: { ...rig.config.timeouts, connect: rig.config.timeouts.connect + 1000 },
  })
  t.same(rig.gateway.reload(next), [], 'reported as applied live (no restart mark)')
  const after = rig.gateway.backends.map((backend) => backend.pool)
  t.ok(
    after.every((pool, index) => pool !== before[index]),
    'every backend has a new pool (the connect timeout is a pool setting)',
  )
  t.equal(rig.config.timeouts.connect + 1000, next.timeouts.connect)
})
