// A credential only makes credentials narrower than itself, through the real gateway: for generated parent keys and
// POST /auth/v1/keys requests, every key minted allows no model its parent does not, stops no later, and has the same
// owner (so the same role); everything else is a coded 400 or 403, never a 500.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { keyEnd } from '../../src/auth/keyScope.js'
import { compileAllowList } from '../../src/auth/modelAllowList.js'
import { startRig } from '../helpers/gateway.js'
import { holds } from '../helpers/fuzz.js'

const patterns = ['llama3.2:3b', 'llama3.2:*', 'qwen2.5:*', 'qwen2.5:0.5b', 'mistral', 'LLAMA3.2:1B', 'bad pattern!']
const models = ['llama3.2:3b', 'llama3.2:1b', 'llama3.2', 'qwen2.5:0.5b', 'qwen2.5:7b', 'mistral', 'other:1b']
const list = fc.option(fc.uniqueArray(fc.constantFrom(...patterns.slice(0, -1)), { maxLength: 3 }), { nil: null })

t.test('every key minted by a key through POST /auth/v1/keys is within its parent', async (t) => {
  const rig = await startRig(t)
  const store = rig.gateway.store
  await holds(
    t,
    'minted keys within their parent',
    fc.asyncProperty(
      list,
      fc.option(fc.integer({ min: 3_600_000, max: 400 * 86_400_000 }), { nil: null }),
      fc.record(
        {
          models: fc.oneof(fc.uniqueArray(fc.constantFrom(...patterns), { maxLength: 3 }), fc.constant(null)),
          expires_in: fc.constantFrom('1h', '2d', '30d', '365d', '3650d', '99999999d', '0', 'soon'),
        },
        { requiredKeys: [] },
      ),
      async (parentModels, parentLifeMs, body) => {
        const parent = rig.addKey({
          username: 'minter',
          models: parentModels,
          expiresAt: parentLifeMs === null ? null : Date.now() + parentLifeMs,
        })
        const response = await request(`${rig.url}/auth/v1/keys`, {
          method: 'POST',
          headers: parent.headers,
          body: JSON.stringify(body),
        })
        const answer = (await response.body.json()) as { id?: string; code?: string }
        if (response.statusCode !== 201) {
          return (
            (response.statusCode === 400 && answer.code === 'invalid_request') ||
            (response.statusCode === 403 && answer.code === 'key_broader_than_credential')
          )
        }
        const minted = store.keys.get(answer.id!)
        const maker = store.keys.get(parent.id)
        if (minted.userId !== maker.userId || minted.createdByKey !== maker.id) return false
        const parentAllows = compileAllowList(maker.models)
        const childAllows = compileAllowList(minted.models)
        if (models.some((model) => childAllows(model) && !parentAllows(model))) return false
        return keyEnd(minted) <= keyEnd(maker)
      },
    ),
    100,
    0.002,
  )
})
