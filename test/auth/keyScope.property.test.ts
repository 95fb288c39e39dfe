// A credential only makes credentials narrower than itself (issue 11, #4): for generated makers and requests, every
// key that may be made allows no model its maker does not, stops no later, and has its maker's owner (so its role);
// a request beyond that is a 403 key_broader_than_credential, and a request that leaves things out is never refused.
import fc from 'fast-check'
import t from 'tap'
import { keyEnd, scopeForNewKey, type KeyScopeRequest } from '../../src/auth/keyScope.js'
import { compileAllowList } from '../../src/auth/modelAllowList.js'
import { GatewayError } from '../../src/errors.js'
import { apiKeyRecord } from '../helpers/apiKeyRecord.js'
import { holds } from '../helpers/fuzz.js'

const patterns = [
  'llama3.2:3b',
  'llama3.2:*',
  'LLAMA3.2:3B',
  'llama3.2',
  'qwen2.5:*',
  'qwen2.5:0.5b',
  'mistral',
  'someone/llama3.2:*',
  'registry.ollama.ai/library/qwen2.5:7b',
]
const models = [
  'llama3.2:3b',
  'llama3.2',
  'Llama3.2:1b',
  'llama3.2:latest',
  'qwen2.5:0.5b',
  'qwen2.5:7b',
  'registry.ollama.ai/library/llama3.2:3b',
  'someone/llama3.2:3b',
  'mistral:latest',
  'llama3.2-evil:3b',
]
const list = fc.option(fc.uniqueArray(fc.constantFrom(...patterns), { maxLength: 4 }), { nil: null })
const instant = fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: null })

const maker = fc.record({ models: list, expiresAt: instant, validUntil: instant }).map((scope) => apiKeyRecord(scope))
const request = fc.record({
  models: fc.oneof(fc.constant(undefined), list),
  expiresAt: fc.oneof(fc.constant(undefined), instant),
})

t.test('every key a key makes is within it: models ⊆, expiry ≤, same owner and role', async (t) => {
  await holds(
    t,
    'keys made by keys are narrower',
    fc.property(fc.option(maker, { nil: null }), request, (parent, asked: KeyScopeRequest) => {
      const scope = scopeForNewKey(parent, asked)
      if (scope instanceof GatewayError) {
        // Only a key refuses, only for what was asked, and always with its own code.
        return parent !== null && scope.code === 'key_broader_than_credential' && scope.status === 403
      }
      if (parent === null)
        return scope.models === (asked.models ?? null) && scope.expiresAt === (asked.expiresAt ?? null)
      const parentAllows = compileAllowList(parent.models)
      const childAllows = compileAllowList(scope.models)
      for (const model of models) if (childAllows(model) && !parentAllows(model)) return false
      const childEnd = scope.expiresAt ?? Infinity
      return childEnd <= keyEnd(parent)
    }),
    5000,
  )
})

t.test('leaving models and expiry out inherits them from the key, and is never refused', async (t) => {
  await holds(
    t,
    'keys made by keys inherit',
    fc.property(maker, (parent) => {
      const scope = scopeForNewKey(parent, { models: undefined, expiresAt: undefined })
      if (scope instanceof GatewayError) return false
      const end = keyEnd(parent)
      return scope.models === parent.models && scope.expiresAt === (Number.isFinite(end) ? end : null)
    }),
    2000,
  )
})
