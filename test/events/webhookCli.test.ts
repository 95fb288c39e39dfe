// The webhook commands end to end on a real SQLite file, with `parallama serve` in its own process: changes the CLI
// makes (in the test's process, not the server's) become signed events on the server (also those made while it was down), `webhook test`
// reaches one webhook, and a delivery cut off by SIGKILL mid-attempt is delivered after the restart.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startEmulator } from '../../bench/emulator/server.js'
import { newSecret } from '../../src/events/signature.js'
import { runCli } from '../helpers/cli.js'
import { serveProcess } from '../helpers/serveProcess.js'
import { startReceiver } from '../helpers/webhookReceiver.js'

t.test('webhook add/list/test/deliveries/remove, CLI changes as events, a kill -9 mid-delivery', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const dir = mkdtempSync(join(tmpdir(), 'parallama-webhooks-'))
  const configFile = join(dir, 'parallama.yaml')
  writeFileSync(configFile, 'log:\n  level: info\n')
  const env = {
    PATH: process.env.PATH!,
    PARALLAMA_DATABASE__PATH: join(dir, 'parallama.db'),
    PARALLAMA_AUTH__JWT_SECRET_FILE: join(dir, 'jwt.key'),
    PARALLAMA_BACKENDS: emulator.url,
    PARALLAMA_SERVER__PORT: '0',
    PARALLAMA_WEBHOOKS__POLL_INTERVAL: '50ms',
    PARALLAMA_WEBHOOKS__RETRY_DELAY: '50ms',
    PARALLAMA_WEBHOOKS__MAX_RETRY_DELAY: '100ms',
    PARALLAMA_AUTH__CHANGE_POLL: '50ms',
  }
  const cli = (...args: string[]) => runCli([...args, '--config', configFile], { env })

  const secret = newSecret()
  const receiver = await startReceiver(() => secret)
  t.teardown(() => receiver.close())
  const secretFile = join(dir, 'webhook.secret')
  writeFileSync(secretFile, secret + '\n', { mode: 0o644 })
  const open = await cli('webhook', 'add', receiver.url, '--events', 'key.*,user.*', '--secret-file', secretFile)
  t.equal(open.code, 1, 'a secret file others may read is refused')
  t.match(open.stderr, /may be read by others \(mode 644\); chmod 600 it/)
  chmodSync(secretFile, 0o600)
  const added = await cli('webhook', 'add', receiver.url, '--events', 'key.*,user.*', '--secret-file', secretFile)
  t.equal(added.code, 0, added.stderr)
  const hookId = added.stdout.trim()
  t.match(hookId, /^wh_[0-9a-f]{16}$/)
  t.equal((await cli('webhook', 'add', 'ftp://example.com/', '--events', 'key.*')).code, 2, 'http(s) only')
  t.match(
    (await cli('webhook', 'add', receiver.url, '--events', 'keys.*')).stderr,
    /"keys.\*" is no event type or pattern/,
  )
  const generated = await cli('webhook', 'add', 'http://127.0.0.1:9/elsewhere', '--events', 'backend.*')
  t.match(generated.stdout, /^whsec_[A-Za-z0-9+/]+=*\n$/, 'a generated secret is printed once')
  t.match(generated.stderr, /shown once/)
  const listed = await cli('webhook', 'list')
  t.match(listed.stdout, hookId)
  t.notMatch(listed.stdout, /whsec_/, 'list never shows a secret')
  const otherId = JSON.parse((await cli('webhook', 'list', '--json')).stdout)[1].id
  t.equal((await cli('webhook', 'remove', otherId)).code, 0)

  // Made while no server runs: turned into events when one starts.
  t.equal((await cli('user', 'add', 'alice', '--no-password')).code, 0)
  const key = await cli('key', 'create', '--user', 'alice', '--json')
  const keyId = JSON.parse(key.stdout).id
  let server = serveProcess(configFile, env)
  await server.listening
  await receiver.waitFor(2)
  // Concurrent deliveries may arrive in any order.
  t.same(receiver.received.map((delivery) => delivery.event.type).sort(), ['key.created', 'user.created'])
  t.match(receiver.received.find((delivery) => delivery.event.type === 'key.created')!.event.data, {
    key_id: keyId,
    username: 'alice',
  })

  // A revoke by the CLI while the server runs; the receiver holds the delivery, and the server is killed.
  const arrived = receiver.hangNext()
  t.equal((await cli('key', 'revoke', keyId)).code, 0)
  await arrived
  const exited = server.exited
  server.child.kill('SIGKILL')
  await exited
  t.equal(receiver.received.length, 2, 'the held attempt was never answered')
  server = serveProcess(configFile, env)
  await server.listening
  await receiver.waitFor(3)
  const revoked = receiver.received[2]!
  t.equal(revoked.event.type, 'key.revoked', 'delivered after the restart')
  t.match(revoked.event.data, { key_id: keyId, username: 'alice' })
  t.ok(
    receiver.received.every((delivery) => delivery.verified),
    'every delivery verifies',
  )

  const tested = await cli('webhook', 'test', hookId)
  t.equal(tested.code, 0, tested.stderr)
  await receiver.waitFor(4)
  t.match(receiver.received[3]!.event, { type: 'webhook.test', data: { webhook_id: hookId } })
  t.equal((await cli('webhook', 'test', 'wh_missing')).code, 1)

  const deliveries = JSON.parse((await cli('webhook', 'deliveries', '--webhook', hookId, '--json')).stdout)
  t.same(
    deliveries.map((delivery: { type: string }) => delivery.type),
    ['webhook.test', 'key.revoked', 'key.created', 'user.created'],
  )
  const retried = deliveries.find((delivery: { type: string }) => delivery.type === 'key.revoked')
  t.match(retried, { state: 'delivered', attempts: 1 }, 'the attempt the kill cut off was never recorded')
  t.equal((await cli('webhook', 'deliveries', '--state', 'dead', '--json')).stdout.trim(), '[]')
  t.equal((await cli('webhook', 'deliveries', '--limit', '0')).code, 2)
  const attempts = JSON.parse((await cli('webhook', 'deliveries', '--attempts', '--json')).stdout)
  t.equal(attempts.length, 4, 'one recorded attempt per delivery')
  t.ok(attempts.every((attempt: { status: number }) => attempt.status === 204))

  server.child.kill('SIGTERM')
  await server.exited
  t.equal((await cli('webhook', 'remove', hookId)).code, 0)
  t.match((await cli('webhook', 'list')).stdout, /\(none\)/)
  t.notMatch(server.output(), new RegExp(secret.slice(6, 20).replace(/[+/]/g, '.')), 'the secret is never logged')
})
