// The batch runner's guarantees with real processes: a quota that runs out pauses a batch (no line fails) and it goes
// on once the quota allows; a gateway killed with SIGKILL mid-batch resumes on restart with every line in the output
// exactly once (a line in flight at the kill runs again: at least once toward the backend, never twice in the file).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import t from 'tap'
import { startEmulator } from '../../bench/emulator/server.js'
import { freePort } from '../../bench/processes.js'
import { runCli } from '../helpers/cli.js'
import { serveProcess } from '../helpers/serveProcess.js'
import { startRig } from '../helpers/gateway.js'

/** `stream`: the lines take the emulator's first-token time (a whole reply comes at once), so some are in flight. */
function chatLines(count: number, stream = false): Buffer {
  const lines = Array.from({ length: count }, (_, index) =>
    JSON.stringify({
      custom_id: `line-${index}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'llama3.2:3b', messages: [{ role: 'user', content: `question ${index}` }], max_tokens: 2, stream },
    }),
  )
  return Buffer.from(lines.join('\n'))
}

async function startBatch(openai: OpenAI, count: number, stream = false) {
  const file = await openai.files.create({ file: await toFile(chatLines(count, stream), 'in.jsonl'), purpose: 'batch' })
  return openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (const deadline = Date.now() + 60_000; ; await new Promise((resolve) => setTimeout(resolve, 25))) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`never reached: ${JSON.stringify(value)}`)
  }
}

const ended = (batch: { status: string }) => ['completed', 'failed', 'cancelled', 'expired'].includes(batch.status)

t.test('a quota that runs out pauses the batch; raised, the batch goes on; no line fails', async (t) => {
  const rig = await startRig(t, { batch: { pause_on_limit: '200ms', max_in_flight: 1 } })
  const { key, id } = rig.addKey({ username: 'quota' })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: id,
    gateway: '*',
    model: '',
    values: { daily_requests: 3 },
  })
  rig.gateway.authenticator.pollChanges()
  const openai = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: key, maxRetries: 0 })
  const batch = await startBatch(openai, 8)
  // Paused: the refusals (429) are requests of the owner's too, and no line is settled by them.
  await until(
    async () => rig.ended.filter((row) => row.requestId.startsWith(batch.id) && row.status === 429).length,
    (refused) => refused >= 2,
  )
  const paused = await openai.batches.retrieve(batch.id)
  t.equal(paused.status, 'in_progress', 'paused, not failed')
  t.equal(paused.request_counts!.failed, 0)
  t.ok(paused.request_counts!.completed <= 4, `${paused.request_counts!.completed} lines ran under the quota`)
  rig.gateway.store.limits.remove('key', id, '*')
  rig.gateway.authenticator.pollChanges()
  const done = await until(() => openai.batches.retrieve(batch.id), ended)
  t.match(done, { status: 'completed', request_counts: { total: 8, completed: 8, failed: 0 } })
})

t.test('kill -9 mid-batch: on restart it resumes, 0 lines lost and 0 duplicated in the output', async (t) => {
  const emulator = await startEmulator({ knobs: { firstTokenMs: 100 } })
  t.teardown(() => emulator.close())
  const dir = mkdtempSync(join(tmpdir(), 'parallama-batch-kill-'))
  const configFile = join(dir, 'parallama.yaml')
  const port = await freePort()
  writeFileSync(
    configFile,
    `server:\n  port: ${port}\nbackends:\n  - url: ${emulator.url}\ndatabase:\n  path: ${join(dir, 'p.db')}\n` +
      `auth:\n  jwt_secret_file: ${join(dir, 'jwt.key')}\nbatch:\n  max_in_flight: 3\n`,
  )
  const cli = (args: string[]) => runCli([...args, '--config', configFile])
  t.equal((await cli(['user', 'add', 'ops', '--role', 'user', '--no-password'])).code, 0)
  const key = (await cli(['key', 'create', '--user', 'ops'])).stdout.trim()
  const first = serveProcess(configFile, {})
  t.teardown(() => first.child.kill('SIGKILL'))
  const url = `http://127.0.0.1:${await first.listening}/v1`
  const openai = new OpenAI({ baseURL: url, apiKey: key, maxRetries: 0 })
  const total = 60
  const batch = await startBatch(openai, total, true)
  await until(
    () => openai.batches.retrieve(batch.id),
    (seen) => seen.request_counts!.completed >= 10,
  )
  first.child.kill('SIGKILL')
  await first.exited
  // The lines the backend was sent (its health checks are requests too, so count the model's own).
  const sent = () => emulator.stats.models.get('llama3.2:3b')?.served ?? 0
  const before = sent()

  const second = serveProcess(configFile, {})
  t.teardown(() => second.child.kill('SIGKILL'))
  await second.listening
  const done = await until(() => openai.batches.retrieve(batch.id), ended)
  t.match(done, { status: 'completed', request_counts: { total, completed: total, failed: 0 } })
  const text = await (await openai.files.content(done.output_file_id!)).text()
  const ids = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).custom_id as string)
  t.equal(ids.length, total, 'every line once in the output')
  t.equal(new Set(ids).size, total, 'no custom_id twice')
  const reran = sent() - total
  t.ok(reran >= 0 && reran <= 1, `${reran} lines in flight at the kill ran again (at most the backend's one slot)`)
  t.ok(before >= 10, `${before} lines had reached the backend before the kill`)
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
})
