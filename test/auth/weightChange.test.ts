// A user's weight reaches the request path on the principal, without a query per request: `parallama user set-weight`
// run as a separate process while the server runs reaches the server's cached principals (keys and login tokens)
// through the change feed, the way a role change does.
import { hash } from '@node-rs/argon2'
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { request } from 'undici'
import type { Principal } from '../../src/auth/principal.js'
import { GatewayError } from '../../src/errors.js'
import { runCli } from '../helpers/cli.js'
import { startRig, type Rig } from '../helpers/gateway.js'

/** `parallama` as a separate process: the change must reach the server through the database alone. */
function spawnCli(rig: Rig, ...args: string[]) {
  return spawnSync(process.execPath, ['dist/cli/index.js', ...args, '--db', rig.config.database.path], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  })
}

const cli = (rig: Rig, ...args: string[]) => runCli([...args, '--db', rig.config.database.path])

function principalOf(rig: Rig, credential: string): Principal {
  const principal = rig.gateway.authenticator.authenticate(credential)
  if (principal instanceof GatewayError) throw principal
  return principal
}

async function generate(rig: Rig, credential: string): Promise<number> {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
    headers: { authorization: `Bearer ${credential}` },
  })
  await response.body.dump()
  return response.statusCode
}

t.test('set-weight from the CLI reaches the cached principal of a key and of a login token', async (t) => {
  const rig = await startRig(t)
  const { key } = rig.addKey({ username: 'kim' })
  rig.gateway.store.users.add({ username: 'lee', role: 'user', passwordHash: await hash('correct horse battery') })
  const login = await request(`${rig.url}/auth/v1/login`, {
    method: 'POST',
    body: JSON.stringify({ username: 'lee', password: 'correct horse battery' }),
  })
  const token = ((await login.body.json()) as { access_token: string }).access_token

  t.equal(await generate(rig, key), 200, 'the key works, and its principal is now cached')
  t.equal(await generate(rig, token), 200, 'so does the login token')
  t.equal(principalOf(rig, key).weight, 1, 'a new user weighs 1')
  t.equal(principalOf(rig, token).weight, 1)
  const lookups = rig.gateway.authenticator.keys.stats.lookups

  for (const [username, weight] of [
    ['kim', '3'],
    ['lee', '0.25'],
  ]) {
    const set = spawnCli(rig, 'user', 'set-weight', username!, weight!)
    t.equal(set.status, 0, set.stderr)
    t.equal(set.stdout, `${username} now has weight ${weight}\n`)
  }
  // What the change poll does on its timer (auth.change_poll), now: the CLI's process has exited and committed.
  rig.gateway.authenticator.pollChanges()
  t.equal(principalOf(rig, key).weight, 3, "the key's principal carries the new weight")
  t.equal(principalOf(rig, token).weight, 0.25, "the login token's too")
  t.equal(rig.gateway.authenticator.keys.stats.lookups, lookups + 1, 'one lookup after the eviction')
  principalOf(rig, key)
  t.equal(rig.gateway.authenticator.keys.stats.lookups, lookups + 1, 'then cached again: no query per request')
  t.equal(await generate(rig, key), 200, 'the key still works: a weight change ends nothing')
  t.equal(await generate(rig, token), 200, 'nor does it end a login')
})

t.test('a refused weight changes nothing: exit 2 with what was expected; an unknown user exits 1', async (t) => {
  const rig = await startRig(t)
  const { key } = rig.addKey({ username: 'kim' })
  // A few through the real command; every other text is in test/auth/weights.property.test.ts (parseWeight).
  for (const weight of ['0', '1e999', 'two']) {
    const refused = await cli(rig, 'user', 'set-weight', 'kim', weight)
    t.equal(refused.code, 2, `"${weight}" is refused as a usage error`)
    t.equal(refused.stderr, `parallama: weight: expected a number from 0.001 to 1000, got "${weight}"\n`)
  }
  const nobody = await cli(rig, 'user', 'set-weight', 'nobody', '2')
  t.equal(nobody.code, 1)
  t.match(nobody.stderr, /no user "nobody"/)
  rig.gateway.authenticator.pollChanges()
  t.equal(principalOf(rig, key).weight, 1)
  t.equal(rig.gateway.store.users.get('kim').weight, 1)
})

t.test('user list and user show give the weight, as JSON and as a table', async (t) => {
  const rig = await startRig(t)
  rig.addKey({ username: 'kim' })
  rig.gateway.store.users.setWeight('kim', 2.5)
  const list = JSON.parse((await cli(rig, 'user', 'list', '--json')).stdout) as { username: string; weight: number }[]
  t.match(
    list.find((user) => user.username === 'kim'),
    { weight: 2.5 },
  )
  t.match(JSON.parse((await cli(rig, 'user', 'show', 'kim', '--json')).stdout), { username: 'kim', weight: 2.5 })
  const table = (await cli(rig, 'user', 'list')).stdout.split('\n')
  t.match(table[0], /^USERNAME +ROLE +ACTIVE +WEIGHT/)
  t.match(
    table.find((line) => line.startsWith('kim ')),
    /^kim +user +true +2\.5 /,
  )
  t.match((await cli(rig, 'user', 'show', 'kim')).stdout, /^weight +2\.5$/m)
})
