// Micro-bench of the native usage sniffer: µs to read the final line of a reply, for final lines of 200 B, 10 KB and
// 1 MB, fed in 64 KiB chunks as undici delivers them. `node dist/bench/usageSniffer.js`
// CPU time (process.cpuUsage), not wall time, and the best of five rounds: the machine is shared.
import { UsageSniffer } from '../src/proxy/usageSniffer.js'

function finalLine(bytes: number): Buffer {
  const head = '{"model":"llama3.2:latest","created_at":"2026-12-01T12:00:00.000Z","response":"'
  const tail =
    '","done":true,"done_reason":"stop","context":[1,2,3],"total_duration":912345678,"load_duration":1234567,' +
    '"prompt_eval_count":26,"prompt_eval_duration":23456789,"eval_count":298,"eval_duration":876543210}\n'
  // Prose as a model writes it: a quoted word and a line break now and then.
  const sentence = 'The quick brown fox jumps over the lazy dog, and then it said \\"hello\\" to the cat.\\n'
  const text = sentence.repeat(Math.max(0, Math.ceil((bytes - head.length - tail.length) / sentence.length)))
  return Buffer.from(head + text.slice(0, Math.max(0, bytes - head.length - tail.length)) + tail)
}

/** A streamed reply: 1000 token lines (one per chunk, as Ollama sends them) and the final line. */
function streamChunks(): Buffer[] {
  const token = '{"model":"llama3.2:latest","created_at":"2026-12-01T12:00:00.000Z","response":" word","done":false}\n'
  return [...Array.from({ length: 1000 }, () => Buffer.from(token)), finalLine(200)]
}

function bench(bytes: number, stream = false): number {
  const line = finalLine(bytes)
  const chunks: Buffer[] = stream ? streamChunks() : []
  if (!stream) for (let at = 0; at < line.length; at += 65536) chunks.push(line.subarray(at, at + 65536))
  const iterations = Math.max(20, Math.min(200_000, Math.floor(200_000_000 / (line.length * 20))))
  let sink = 0
  let best = Infinity
  for (let round = 0; round < 6; round++) {
    const started = process.cpuUsage()
    for (let i = 0; i < iterations; i++) {
      const sniffer = new UsageSniffer()
      for (const chunk of chunks) sniffer.push(chunk)
      sink += sniffer.finish().completionTokens ?? 0
    }
    const used = process.cpuUsage(started)
    // The first round warms the JIT up.
    if (round > 0) best = Math.min(best, (used.user + used.system) / iterations)
  }
  if (sink === 0) throw new Error('no counts read')
  return best
}

for (const bytes of [200, 10_000, 1_000_000]) {
  console.log(`final line ${finalLine(bytes).length} B: ${bench(bytes).toFixed(2)} us`)
}
console.log(`streamed reply of 1000 token lines: ${(bench(0, true) / 1001).toFixed(3)} us per line`)
