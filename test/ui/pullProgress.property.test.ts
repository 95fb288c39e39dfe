// The dashboard's reading of a pull's NDJSON stream (src/ui/app/pull.ts): however the bytes are cut into chunks (in
// the middle of a line, of a multi-byte character), every line arrives once, whole and in order; and each backend's
// bar ends done on its success line, failed on its error line.
import fc from 'fast-check'
import t from 'tap'
import { applyPullLine, readNdjson, type BackendPull, type PullLine } from '../../src/ui/app/pull.js'

const line: fc.Arbitrary<PullLine> = fc.oneof(
  fc.record({
    backend: fc.constantFrom('gpu-a', 'gpu-b', 'ünï'),
    status: fc.string({ unit: 'grapheme', maxLength: 20 }),
    total: fc.option(fc.nat(), { nil: undefined }),
    completed: fc.option(fc.nat(), { nil: undefined }),
  }),
  fc.record({ backend: fc.constantFrom('gpu-a', 'gpu-b'), status: fc.constant('success') }),
  fc.record({
    backend: fc.constantFrom('gpu-a', 'gpu-b'),
    error: fc.record({ code: fc.constant('backend_error'), message: fc.string({ maxLength: 20 }) }),
  }),
)

/** A stream of `bytes` cut at the given places. */
function chunked(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let at = 0
  for (const point of [...points, bytes.length]) {
    if (point > at) pieces.push(bytes.subarray(at, point))
    at = Math.max(at, point)
  }
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece)
      controller.close()
    },
  })
}

t.test('every line arrives once, whole, in order, however the stream is cut', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(line, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.boolean(),
      async (lines, cuts, finalNewline) => {
        const text = lines.map((one) => JSON.stringify(one)).join('\n') + (finalNewline ? '\n' : '')
        const seen: PullLine[] = []
        await readNdjson(chunked(new TextEncoder().encode(text), cuts), (one) => seen.push(one))
        if (JSON.stringify(seen) !== JSON.stringify(lines)) throw new Error(`read ${JSON.stringify(seen)}`)
      },
    ),
    { numRuns: 500 },
  )
})

t.test("a backend's bar ends with its last line: done on success, failed on an error", async () => {
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (lines) => {
      const state = lines.reduce<Record<string, BackendPull>>(applyPullLine, {})
      for (const backend of new Set(lines.map((one) => one.backend))) {
        const last = lines.filter((one) => one.backend === backend).at(-1)!
        const bar = state[backend]!
        if (last.error && !(bar.done && bar.status === 'failed' && bar.error === last.error.message)) {
          throw new Error(`${backend}: an error line left ${JSON.stringify(bar)}`)
        }
        if (last.status === 'success' && !bar.done) throw new Error(`${backend}: success left it running`)
        if (!last.error && last.status !== 'success' && bar.done) throw new Error(`${backend}: done too early`)
      }
    }),
  )
})
