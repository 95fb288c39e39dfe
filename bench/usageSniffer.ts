// Micro-bench of the native usage sniffer: µs to read the final line of a reply, for final lines of 200 B, 10 KB and
// 1 MB, fed in 64 KiB chunks as undici delivers them. `node dist/bench/usageSniffer.js`
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

function bench(bytes: number): number {
  const line = finalLine(bytes)
  const chunks: Buffer[] = []
  for (let at = 0; at < line.length; at += 65536) chunks.push(line.subarray(at, at + 65536))
  const iterations = Math.max(20, Math.min(200_000, Math.floor(200_000_000 / (line.length * 20))))
  let sink = 0
  for (let round = 0; round < 2; round++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) {
      const sniffer = new UsageSniffer()
      for (const chunk of chunks) sniffer.push(chunk)
      sink += sniffer.finish().completionTokens ?? 0
    }
    const us = Number(process.hrtime.bigint() - started) / 1000 / iterations
    if (round === 1) {
      if (sink === 0) throw new Error('no counts read')
      return us
    }
  }
  return 0
}

for (const bytes of [200, 10_000, 1_000_000]) {
  console.log(`final line ${finalLine(bytes).length} B: ${bench(bytes).toFixed(2)} us`)
}
