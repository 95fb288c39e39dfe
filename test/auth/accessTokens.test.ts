// Signing secrets: made 0600 when missing, never overwritten, too-short ones refused; a token signed with an older
// secret (a later line of the file) still verifies, which is how the secret is rotated.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { AccessTokens } from '../../src/auth/accessTokens.js'
import { loadJwtSecrets } from '../../src/auth/jwtSecrets.js'
import { GatewayError } from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-jwt-'))
const options = { ttlMs: 60_000, issuer: 'parallama', audience: 'parallama' }
const user = { id: 7, username: 'u', role: 'user', tokenEpoch: 42 }

t.test('a missing secret file is created 0600 and then kept', async (t) => {
  const file = join(dir, 'state', 'jwt.key')
  const [first] = loadJwtSecrets('', file)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.equal(first!.key.length, 32)
  const [again] = loadJwtSecrets('', file)
  t.same(again!.key, first!.key, 'not overwritten')
})

t.test('rotation: a new first line signs, the old line still verifies', async (t) => {
  const file = join(dir, 'rotate.key')
  const [old] = loadJwtSecrets('', file)
  const before = new AccessTokens([old!], options).issue(user, 'login-1').token
  const fresh = Buffer.alloc(32, 9).toString('base64url')
  writeFileSync(file, `${fresh}\n${readFileSync(file, 'utf8')}`)
  const rotated = new AccessTokens(loadJwtSecrets('', file), options)
  t.match(rotated.verify(before), { userId: 7 }, 'a token of the old secret still works')
  const after = rotated.issue(user, 'login-1').token
  t.match(rotated.verify(after), { userId: 7 })
  t.type(
    new AccessTokens([old!], options).verify(after),
    GatewayError,
    'the old secret alone does not know the new kid',
  )
})

t.test('weak or unreadable secrets are refused with the place named', async (t) => {
  t.throws(() => loadJwtSecrets('short', join(dir, 'unused')), {
    code: 'jwt_secret_invalid',
    message: /PARALLAMA_AUTH__JWT_SECRET: .*at least 32 bytes/,
  })
  const weak = join(dir, 'weak.key')
  writeFileSync(weak, 'abc\n')
  t.throws(() => loadJwtSecrets('', weak), { message: /weak.key line 1/ })
  const empty = join(dir, 'empty.key')
  writeFileSync(empty, '# nothing here\n')
  t.throws(() => loadJwtSecrets('', empty), { message: /holds no signing secret/ })
})
