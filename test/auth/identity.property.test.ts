// An identity is never inherited (issue 11, #3). Over generated sequences of user creations, deletions, disables,
// enables, password changes, logins, refreshes and key creations — written by the server's connection or by a second
// one, as the CLI does — no credential ever authenticates as anyone but the user it was issued to, and a credential of
// a deleted user, a login token from before a password change or a disable, never authenticates again.
import fc from 'fast-check'
import t from 'tap'
import { issueKey } from '../../src/auth/keyIssuer.js'
import type { Principal } from '../../src/auth/principal.js'
import { GatewayError } from '../../src/errors.js'
import type { Store } from '../../src/store/store.js'
import { holds } from '../helpers/fuzz.js'
import { inProcessIdentity } from '../helpers/identity.js'

const names = ['ann', 'bob', 'cy'] as const
const name = fc.constantFrom(...names)
const via = fc.boolean() // true: through the second connection (the CLI)

const operation = fc.oneof(
  fc.record({ op: fc.constant('create' as const), name, via, admin: fc.boolean() }),
  fc.record({ op: fc.constant('delete' as const), name, via }),
  fc.record({ op: fc.constant('disable' as const), name, via }),
  fc.record({ op: fc.constant('enable' as const), name, via }),
  fc.record({ op: fc.constant('passwd' as const), name, via }),
  fc.record({ op: fc.constant('login' as const), name }),
  fc.record({ op: fc.constant('login' as const), name }),
  fc.record({ op: fc.constant('key' as const), name }),
  fc.record({ op: fc.constant('refresh' as const), pick: fc.nat() }),
)

type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never

/** One life of a username: from its creation to its deletion. */
interface Life {
  life: number
  id: number
  active: boolean
  /** Bumped when every login token must end (password set, disable). */
  epoch: number
  password: string
}

interface Held {
  credential: string
  refresh?: string
  username: string
  life: number
  /** undefined for keys. */
  epoch?: number
  userId: number
}

t.test('no credential ever authenticates as another user, or outlives its user, password or enablement', async (t) => {
  await holds(
    t,
    'identity never inherited',
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 30 }), async (operations) => {
      const identity = inProcessIdentity(t)
      try {
        await play(identity, operations)
      } finally {
        identity.close()
      }
    }),
    100,
    0.002,
  )
})

async function play(identity: ReturnType<typeof inProcessIdentity>, operations: Operation[]): Promise<void> {
  const lives = new Map<string, Life>()
  const held: Held[] = []
  let lifeCount = 0
  const writer = (viaCli: boolean): Store => (viaCli ? identity.cli : identity.store)
  for (const step of operations) {
    const life = 'name' in step ? lives.get(step.name) : undefined
    switch (step.op) {
      case 'create':
        if (life) break
        lives.set(step.name, {
          life: ++lifeCount,
          id: writer(step.via).users.add({
            username: step.name,
            role: step.admin ? 'admin' : 'user',
            passwordHash: `plain:pw${lifeCount}`,
          }).id,
          active: true,
          epoch: 0,
          password: `pw${lifeCount}`,
        })
        break
      case 'delete':
        if (!life) break
        writer(step.via).users.remove(step.name)
        lives.delete(step.name)
        break
      case 'disable':
      case 'enable':
        if (!life) break
        writer(step.via).users.setActive(step.name, step.op === 'enable')
        if (step.op === 'disable') life.epoch++
        life.active = step.op === 'enable'
        break
      case 'passwd':
        if (!life) break
        life.password = `${life.password}+`
        writer(step.via).users.setPassword(step.name, `plain:${life.password}`)
        life.epoch++
        break
      case 'login': {
        const password = life?.password ?? 'guess'
        const pair = await identity.sessions.login(step.name, password, '127.0.0.1')
        if (!life || !life.active) {
          if (!(pair instanceof GatewayError)) throw new Error(`logged in as ${step.name}, who cannot log in`)
          break
        }
        if (pair instanceof GatewayError) throw new Error(`login of ${step.name} failed: ${pair.code}`)
        held.push({
          credential: pair.access_token,
          refresh: pair.refresh_token,
          username: step.name,
          life: life.life,
          epoch: life.epoch,
          userId: life.id,
        })
        break
      }
      case 'key':
        if (!life) break
        held.push({
          credential: issueKey(identity.store.keys, { userId: life.id }).key,
          username: step.name,
          life: life.life,
          userId: life.id,
        })
        break
      case 'refresh': {
        const sessions = held.filter((credential) => credential.refresh !== undefined)
        if (sessions.length === 0) break
        const from = sessions[step.pick % sessions.length]!
        const pair = identity.sessions.refresh(from.refresh!)
        if (!(pair instanceof GatewayError)) {
          held.push({ ...from, credential: pair.access_token, refresh: pair.refresh_token })
        }
        break
      }
    }
    identity.authenticator.pollChanges()
    for (const credential of held) {
      const principal = identity.authenticator.authenticate(credential.credential)
      const current = lives.get(credential.username)
      const alive =
        current !== undefined &&
        current.life === credential.life &&
        current.active &&
        (credential.epoch === undefined || credential.epoch === current.epoch)
      if (principal instanceof GatewayError) {
        // A refreshed-away login may end early (reuse); a live identity's key never fails.
        if (alive && credential.epoch === undefined) throw new Error(`a live key failed: ${principal.code}`)
        continue
      }
      check(principal, credential, alive)
    }
    // Ids never come back: every life got its own.
    const ids = [...lives.values()].map((each) => each.id)
    if (new Set(ids).size !== ids.length) throw new Error('two users share an id')
  }
}

function check(principal: Principal, credential: Held, alive: boolean): void {
  if (!alive) throw new Error(`a credential of ${credential.username} (life ${credential.life}) still authenticates`)
  if (principal.userId !== credential.userId || principal.username !== credential.username) {
    throw new Error(`issued to ${credential.username}#${credential.userId}, authenticated as ${principal.username}`)
  }
}
