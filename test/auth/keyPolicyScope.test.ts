// A key made by a key is no broader in where it may be used, nor in whether it is signed (src/auth/keyScope.ts).
import t from 'tap'
import { scopeForNewKey } from '../../src/auth/keyScope.js'
import { apiKeyRecord } from '../helpers/apiKeyRecord.js'

const maker = apiKeyRecord

const ask = { models: undefined, expiresAt: undefined }

t.test("the maker's allow_ip is inherited, and cannot be replaced by another", async (t) => {
  const fenced = maker({ allowIp: ['10.0.0.0/8'] })
  t.match(scopeForNewKey(fenced, ask), { allowIp: ['10.0.0.0/8'] })
  t.match(scopeForNewKey(fenced, { ...ask, allowIp: ['10.0.0.0/8'] }), { allowIp: ['10.0.0.0/8'] })
  t.match(scopeForNewKey(fenced, { ...ask, allowIp: null }), { code: 'key_broader_than_credential' })
  t.match(scopeForNewKey(fenced, { ...ask, allowIp: ['0.0.0.0/0'] }), { code: 'key_broader_than_credential' })
  t.match(
    scopeForNewKey(maker({}), { ...ask, allowIp: ['192.0.2.0/24'] }),
    { allowIp: ['192.0.2.0/24'] },
    'a list narrows a maker without one',
  )
  t.match(scopeForNewKey(null, { ...ask, allowIp: ['192.0.2.0/24'], signed: true }), {
    allowIp: ['192.0.2.0/24'],
    signed: true,
  })
})

t.test('a signed maker makes signed keys only', async (t) => {
  t.match(scopeForNewKey(maker({ signed: true }), ask), { signed: true })
  t.match(scopeForNewKey(maker({ signed: true }), { ...ask, signed: false }), { code: 'key_broader_than_credential' })
  t.match(scopeForNewKey(maker({}), { ...ask, signed: true }), { signed: true })
  t.match(scopeForNewKey(maker({}), ask), { signed: false })
})
