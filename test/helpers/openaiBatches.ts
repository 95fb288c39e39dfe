// The Batch API through the unmodified `openai` client, for the tests that drive it: a client on a rig, an upload of
// JSONL lines, waiting for a batch to end, and a result file's lines.
import OpenAI, { toFile } from 'openai'
import type { Rig } from './gateway.js'

export function batchClient(rig: Rig, key = rig.key, mount = '/v1'): OpenAI {
  return new OpenAI({ baseURL: `${rig.url}${mount}`, apiKey: key, maxRetries: 0 })
}

export async function uploadLines(openai: OpenAI, lines: string[], name = 'input.jsonl') {
  return openai.files.create({ file: await toFile(Buffer.from(lines.join('\n') + '\n'), name), purpose: 'batch' })
}

/** The batch once ended, or its last state after `ms` (a batch that never ends is the bug some tests look for). */
export async function endedBatch(openai: OpenAI, id: string, ms = 60_000) {
  const until = Date.now() + ms
  for (;;) {
    const batch = await openai.batches.retrieve(id)
    if (['completed', 'failed', 'cancelled', 'expired'].includes(batch.status) || Date.now() > until) return batch
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A result file's lines, parsed. */
export async function resultLines(openai: OpenAI, fileId: string) {
  const text = await (await openai.files.content(fileId)).text()
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line))
}
