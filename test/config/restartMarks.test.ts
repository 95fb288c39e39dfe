// The keys a reload cannot apply are marked `restart: true` in the config schema itself: a reload reports exactly the
// marked keys that changed, and nothing else.
import t from 'tap'
import { changedRestartKeys, restartKeyPaths } from '../../src/config/restartKeys.js'
import { configFrom } from '../../src/config/load.js'
import { schema } from '../../src/config/schema.js'
import type { SchemaNode } from '../../src/config/schemaTypes.js'
import { startRig } from '../helpers/gateway.js'

/** Every key path of the schema (leaves and lists). */
function keyPaths(node: SchemaNode = schema, path = ''): string[] {
  if (node.kind !== 'section') return [path]
  return Object.entries(node.fields).flatMap(([key, child]) => keyPaths(child, path ? `${path}.${key}` : key))
}

function withValue(config: object, path: string, value: unknown): object {
  const copy = structuredClone(config) as Record<string, any>
  const keys = path.split('.')
  let at = copy
  for (const key of keys.slice(0, -1)) at = at[key]
  at[keys.at(-1)!] = value
  return copy
}

t.test('a change of any one key is reported exactly when the schema marks it', async (t) => {
  const config = configFrom({})
  const marked = new Set(restartKeyPaths())
  for (const path of keyPaths()) {
    const changed = changedRestartKeys(config, withValue(config, path, { changed: path }))
    t.same(changed, marked.has(path) ? [path] : [], path)
  }
})

t.test(
  'the marks: where the gateway listens, the database, credentials, pools, the usage writer, metrics set-up, alerts',
  async (t) => {
    const marked = restartKeyPaths()
    for (const path of ['server.host', 'server.port', 'database.path', 'auth.jwt_secret_file', 'upstream.connections'])
      t.ok(marked.includes(path), `${path} needs a restart`)
    for (const path of ['server.drain_timeout', 'backends', 'timeouts.total', 'limits.max_body_bytes', 'log.level'])
      t.notOk(marked.includes(path), `${path} reloads live`)
    for (const path of ['usage.currency', 'usage.prices', 'models.aliases'])
      t.notOk(marked.includes(path), `${path} reloads live`)
  },
)

t.test("a running gateway's reload reports the marked keys that changed, and applies the others", async (t) => {
  const rig = await startRig(t)
  const next = configFrom({
    ...structuredClone(rig.config),
    server: { ...rig.config.server, port: rig.gateway.port + 1 },
    auth: { ...rig.config.auth, key_cache_size: 7 },
    log: { ...rig.config.log, level: 'warn' },
    timeouts: { ...rig.config.timeouts, total: 60_000 },
  })
  t.same(rig.gateway.reload(next), ['server.port', 'auth.key_cache_size'])
  t.same(rig.gateway.reload(next), [], 'the running config is the new one: nothing changed since')
})
