// An outsider's requests against the Batch API on the real gateway: a line nested too deep for the gateway's own
// serializer, a line whose numbers JavaScript cannot hold, a cancel while a bad file is still being validated, and a
// list cursor naming another user's file. Each was a bug: a batch retried one line forever, a line reached Ollama
// with other values than the file held, a batch stuck in `cancelling` beside an orphan error file, and a list that
// told whether another user's id exists.
import type OpenAI from 'openai'
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'
import { batchClient, endedBatch, resultLines as linesOf, uploadLines } from '../helpers/openaiBatches.js'

const client = (rig: Parameters<typeof batchClient>[0], key: string) => batchClient(rig, key)
const upload = (openai: OpenAI, lines: string[]) => uploadLines(openai, lines, 'in.jsonl')
const ended = (openai: OpenAI, id: string, ms = 5000) => endedBatch(openai, id, ms)

const chatBody = '"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}],"max_tokens":3'

/** A line with its body given as JSON text (written as is, so that it can hold what JSON.stringify never makes). */
function rawLine(customId: string, bodyFields: string): string {
  return `{"custom_id":${JSON.stringify(customId)},"method":"POST","url":"/v1/chat/completions","body":{${bodyFields}}}`
}

async function create(openai: OpenAI, fileId: string) {
  return openai.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' })
}

t.test(
  'a line nested deeper than the gateway reads is named by validation, not retried until the batch expires',
  async (t) => {
    const rig = await startRig(t, { batch: { pause_on_limit: '100ms' } })
    const openai = client(rig, rig.addKey().key)
    const deep = '['.repeat(20_000) + ']'.repeat(20_000)
    const file = await upload(openai, [rawLine('ok', chatBody), rawLine('deep', `${chatBody},"x":${deep}`)])
    const batch = await ended(openai, (await create(openai, file.id)).id, 3000)
    t.equal(batch.status, 'failed', 'the batch ends')
    t.match(batch.errors?.data, [{ line: 2, code: 'invalid_request', param: 'body', message: /nested deeper/ }])
    t.equal(rig.emulator.stats.requests, 0, 'no line ran')
    t.notOk(
      rig.logs.some((line) => line.includes('a batch line failed')),
      'no line failed on the gateway side',
    )
  },
)

t.test(
  'a line body reaches the stages as written: what JavaScript cannot hold is refused as a request would be',
  async (t) => {
    const rig = await startRig(t)
    const user = rig.addKey()
    const openai = client(rig, user.key)
    // JSON.parse + JSON.stringify turned 1e309 into null (absent) and kept only the last of two "model" keys, where the
    // gateway refuses both bodies sent directly (a value JavaScript cannot hold; a key Ollama would read differently).
    const bodies = [`${chatBody},"temperature":1e309`, `"model":"qwen2.5:7b",${chatBody}`]
    const file = await upload(
      openai,
      bodies.map((body, index) => rawLine(`line-${index}`, body)),
    )
    const batch = await ended(openai, (await create(openai, file.id)).id)
    t.equal(batch.status, 'completed')
    const direct = []
    for (const body of bodies) {
      const answer = await request(`${rig.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...user.headers, 'content-type': 'application/json' },
        body: `{${body}}`,
      })
      direct.push(answer.statusCode)
      await answer.body.text()
    }
    const results = [
      ...(batch.output_file_id ? await linesOf(openai, batch.output_file_id) : []),
      ...(batch.error_file_id ? await linesOf(openai, batch.error_file_id) : []),
    ]
    const byId = new Map(results.map((line) => [line.custom_id, line.response.status_code]))
    t.same(
      bodies.map((_, index) => byId.get(`line-${index}`)),
      direct,
      'each line answered as the same body sent directly',
    )
    t.same(direct, [400, 400], 'both refused when sent directly')
  },
)

t.test('a cancel while a bad file is validated: the batch ends cancelled, with no orphan error file', async (t) => {
  const rig = await startRig(t)
  const openai = client(rig, rig.addKey().key)
  // Many bad lines: validation reads for a while, so the cancel comes before it ends.
  const file = await upload(
    openai,
    Array.from({ length: 40_000 }, (_, index) => `{"custom_id":"c${index}","method":"GET"}`),
  )
  const batch = await create(openai, file.id)
  const cancelled = await openai.batches.cancel(batch.id)
  t.equal(cancelled.status, 'cancelling', 'the cancel came while validating')
  const done = await ended(openai, batch.id)
  t.equal(done.status, 'cancelled', 'the batch does not stay cancelling')
  const files = await openai.files.list()
  t.same(
    files.data.map((listed) => listed.id),
    [file.id],
    'no error file was recorded for a batch that did not fail',
  )
})

t.test("a list cursor naming another user's file reads as one that does not exist", async (t) => {
  const rig = await startRig(t)
  const alice = client(rig, rig.addKey({ username: 'alice' }).key)
  const bob = client(rig, rig.addKey({ username: 'bob' }).key)
  const line = rawLine('a', chatBody)
  const older = await upload(alice, [line])
  const bobs = await upload(bob, [line])
  await upload(alice, [line])
  const afterBob = await alice.files.list({ after: bobs.id })
  const afterNothing = await alice.files.list({ after: 'file-00000000000000000000000000000000' })
  t.same(afterNothing.data, [])
  t.same(afterBob.data, afterNothing.data, "another user's id answers as one that does not exist")
  t.same(
    (await alice.files.list({ after: (await alice.files.list()).data[0]!.id })).data.map((file) => file.id),
    [older.id],
    "one's own cursor still pages",
  )
  await create(alice, older.id)
  const bobBatch = await create(bob, bobs.id)
  const batchesAfterBob = await request(`${rig.url}/v1/batches?after=${bobBatch.id}`, {
    headers: { authorization: `Bearer ${alice.apiKey}` },
  })
  t.same(await batchesAfterBob.body.json(), {
    object: 'list',
    data: [],
    first_id: null,
    last_id: null,
    has_more: false,
  })
})

t.test('deleting a user while their batch validates leaves the gateway running', async (t) => {
  const rig = await startRig(t)
  const user = rig.addKey({ username: 'leaving' })
  const openai = client(rig, user.key)
  const file = await upload(
    openai,
    Array.from({ length: 40_000 }, (_, index) => rawLine(`c${index}`, chatBody)),
  )
  const batch = await create(openai, file.id)
  t.equal(batch.status, 'validating')
  const deleted = await request(`${rig.url}/admin/v1/users/leaving`, { method: 'DELETE', headers: rig.headers })
  t.equal(deleted.statusCode, 200)
  await deleted.body.text()
  // The validation ends on its own (an unhandled rejection then failed this test: the process would end).
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const alive = await request(`${rig.url}/v1/models`, { headers: rig.headers })
  t.equal(alive.statusCode, 200)
  await alive.body.text()
  t.notOk(
    rig.logs.some((line) => line.includes('a batch step failed')),
    'nothing failed',
  )
})
