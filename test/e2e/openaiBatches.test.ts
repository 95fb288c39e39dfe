// The Batch API with the unmodified `openai` npm client against the real gateway and the emulator: upload, create,
// retrieve until done, list, the output file's lines keyed by custom_id, cancel; a file that fails validation; files and
// batches isolated per user; the size cap. Each line is a normal request of the owner (usage rows, request ids).
import { statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { toFile } from 'openai'
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'
import {
  batchClient as client,
  endedBatch as settled,
  resultLines as linesOf,
  uploadLines as upload,
} from '../helpers/openaiBatches.js'

function chatLine(customId: string, content = 'hello there', url = '/v1/chat/completions') {
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url,
    body: { model: 'llama3.2:3b', messages: [{ role: 'user', content }], max_tokens: 3 },
  })
}

t.test('upload, create, run, retrieve, list, output file: every line once, keyed by custom_id', async (t) => {
  const rig = await startRig(t)
  const user = rig.addKey()
  const openai = client(rig, user.key, '/openai/v1')
  const ids = Array.from({ length: 12 }, (_, index) => `req-${index}`)
  const file = await upload(
    openai,
    ids.map((id) => chatLine(id)),
  )
  t.match(file, { object: 'file', purpose: 'batch', filename: 'input.jsonl', status: 'processed' })
  t.match(file.id, /^file-[0-9a-f]{32}$/)
  const mode = statSync(join(dirname(rig.config.database.path), 'files', file.id)).mode & 0o777
  t.equal(mode, 0o600, 'the file on disk is readable by the service user only')
  t.same(await openai.files.retrieve(file.id), file)

  const batch = await openai.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { team: 'tests' },
  })
  t.match(batch, { object: 'batch', status: 'validating', input_file_id: file.id, metadata: { team: 'tests' } })
  const done = await settled(openai, batch.id)
  t.match(done, { status: 'completed', request_counts: { total: 12, completed: 12, failed: 0 }, error_file_id: null })
  t.ok(done.in_progress_at && done.finalizing_at && done.completed_at)
  const output = await linesOf(openai, done.output_file_id!)
  t.same(output.map((line) => line.custom_id).sort(), [...ids].sort(), 'each custom_id exactly once')
  for (const line of output) {
    t.match(line, {
      id: /^batch_req_/,
      response: { status_code: 200, request_id: new RegExp(`^${batch.id}:\\d+$`), body: { object: 'chat.completion' } },
      error: null,
    })
  }
  const rows = rig.ended.filter((row) => row.requestId.startsWith(batch.id))
  t.equal(rows.length, 12, 'each line is a request of its own, with its usage row')
  t.ok(rows.every((row) => row.route === 'chat_completions' && row.status === 200))

  const scrape = await (await request(`${rig.url}/metrics`)).body.text()
  t.match(scrape, /parallama_batch_lines_total\{outcome="succeeded"\} 12\n/)
  t.match(scrape, /parallama_batches_ended_total\{status="completed"\} 1\n/)
  t.match(scrape, /parallama_batches_active 0\n/)
  const audited = rig.gateway.store.db
    .prepare("SELECT action, target, result FROM audit_log WHERE action LIKE 'file.%' OR action LIKE 'batch.%'")
    .all()
  t.same(audited, [
    { action: 'file.upload', target: `file:${file.id}`, result: 'ok' },
    { action: 'batch.create', target: `batch:${batch.id}`, result: 'ok' },
  ])

  const listed = await openai.batches.list({ limit: 1 })
  t.equal(listed.data[0]!.id, batch.id)
  const files = await openai.files.list()
  t.ok(files.data.some((listedFile) => listedFile.id === done.output_file_id && listedFile.purpose === 'batch_output'))
})

t.test(
  'a file that fails validation: the batch fails, naming each bad line in errors and the error file',
  async (t) => {
    const rig = await startRig(t)
    const openai = client(rig)
    const lines = [
      chatLine('a'),
      'not json',
      chatLine('a'),
      chatLine('b', 'x', '/v1/embeddings'),
      JSON.stringify({ custom_id: 'c', method: 'GET', url: '/v1/chat/completions', body: { model: 'm' } }),
      JSON.stringify({ custom_id: 'd', method: 'POST', url: '/v1/chat/completions', body: {} }),
    ]
    const file = await upload(openai, lines)
    const batch = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    const failed = await settled(openai, batch.id)
    t.equal(failed.status, 'failed')
    t.same(
      failed.errors!.data!.map((error) => [error.line, error.code]),
      [
        [2, 'invalid_json_line'],
        [3, 'duplicate_custom_id'],
        [4, 'mismatched_url'],
        [5, 'invalid_method'],
        [6, 'missing_required_parameter'],
      ],
    )
    const errorLines = await linesOf(openai, failed.error_file_id!)
    t.same(
      errorLines.map((line) => line.error.line),
      [2, 3, 4, 5, 6],
    )
    t.equal(rig.emulator.stats.requests, 0, 'no line ran')
  },
)

t.test('files and batches belong to their creator: others get 404, admins see all', async (t) => {
  const rig = await startRig(t)
  const alice = client(rig, rig.addKey({ username: 'alice' }).key)
  const bob = client(rig, rig.addKey({ username: 'bob' }).key)
  const admin = client(rig)
  const file = await upload(alice, [chatLine('one')])
  const batch = await alice.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  })
  await t.rejects(bob.files.retrieve(file.id), { name: /Error/, status: 404 })
  await t.rejects(bob.files.content(file.id), { name: /Error/, status: 404 })
  await t.rejects(bob.files.delete(file.id), { name: /Error/, status: 404 })
  await t.rejects(bob.batches.retrieve(batch.id), { name: /Error/, status: 404 })
  await t.rejects(bob.batches.cancel(batch.id), { name: /Error/, status: 404 })
  await t.rejects(
    bob.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    { name: /Error/, status: 404 },
  )
  t.equal((await bob.files.list()).data.length, 0)
  t.equal((await bob.batches.list()).data.length, 0)
  t.equal((await admin.files.retrieve(file.id)).id, file.id)
  // A HEAD of the content: the head alone, and the connection still reads the next answer right.
  const head = await request(`${rig.url}/v1/files/${file.id}/content`, { method: 'HEAD', headers: rig.headers })
  t.equal(head.statusCode, 200)
  t.equal(await head.body.text(), '')
  t.equal((await admin.files.retrieve(file.id)).id, file.id, 'the next request on the connection is answered')
  t.ok((await admin.batches.list()).data.some((listed) => listed.id === batch.id))
  await settled(alice, batch.id)
  t.match(await alice.files.delete(file.id), { id: file.id, deleted: true })
  await t.rejects(alice.files.retrieve(file.id), { name: /Error/, status: 404 })
})

t.test('bad requests: clear errors, nothing kept', async (t) => {
  const rig = await startRig(t, { batch: { max_file_bytes: 2048 } })
  const openai = client(rig)
  await t.rejects(
    upload(
      openai,
      Array.from({ length: 40 }, (_, index) => chatLine(`line-${index}`)),
    ),
    {
      status: 413,
      code: 'file_too_large',
    },
  )
  await t.rejects(openai.files.create({ file: await toFile(Buffer.from('x'), 'f.jsonl'), purpose: 'fine-tune' }), {
    status: 400,
    message: /purpose/,
  })
  t.equal((await openai.files.list()).data.length, 0, 'no file from a refused upload')
  const file = await upload(openai, [chatLine('a')])
  await t.rejects(
    openai.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' }),
    { status: 400, message: /endpoint/ },
  )
  await t.rejects(
    openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '48h' as never,
    }),
    { status: 400, message: /completion_window/ },
  )
  await t.rejects(openai.batches.retrieve('batch_nope'), { status: 404, code: 'batch_not_found' })
  const raw = await request(`${rig.url}/v1/files`, {
    method: 'POST',
    headers: { ...rig.headers, 'content-type': 'application/json' },
    body: '{}',
  })
  t.equal(raw.statusCode, 400)
  t.match(await raw.body.json(), { error: { message: /multipart/, type: 'invalid_request_error' } })
})

t.test('cancel: no new line starts, the batch ends cancelled with what ran', async (t) => {
  const rig = await startRig(t, { batch: { max_in_flight: 1 } }, { knobs: { firstTokenMs: 30 } })
  const openai = client(rig)
  const file = await upload(
    openai,
    Array.from({ length: 30 }, (_, index) => chatLine(`c-${index}`)),
  )
  const batch = await openai.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  })
  while ((await openai.batches.retrieve(batch.id)).request_counts!.completed < 1) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const cancelling = await openai.batches.cancel(batch.id)
  t.equal(cancelling.status, 'cancelling')
  const cancelled = await settled(openai, batch.id)
  t.equal(cancelled.status, 'cancelled')
  t.ok(cancelled.request_counts!.completed < 30, 'lines not started never ran')
  const output = await linesOf(openai, cancelled.output_file_id!)
  t.equal(output.length, cancelled.request_counts!.completed, 'the partial output has every line that ran')
  await t.rejects(openai.batches.cancel(batch.id), { name: /Error/, status: 409 })
})
