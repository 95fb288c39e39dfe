// Properties of a batch input file's validation (src/batch/inputScan.ts, lineCheck.ts), over generated files cut into
// arbitrary chunks, with CRLF or LF line ends and blank lines: a file of good lines passes and every line's place in
// the file reads back to exactly that line; a file with bad lines fails, and every bad line (and only those) is named
// by its line number.
import fc from 'fast-check'
import t from 'tap'
import { LineScan } from '../../src/batch/inputScan.js'
import { holds } from '../helpers/fuzz.js'

const endpoint = '/v1/chat/completions'

type Kind = 'good' | 'not_json' | 'array' | 'no_custom_id' | 'duplicate' | 'method' | 'url' | 'body' | 'no_model'
const badKinds: Kind[] = ['not_json', 'array', 'no_custom_id', 'duplicate', 'method', 'url', 'body', 'no_model']

/** A line of `kind`; good lines get ids unique in the file, a duplicate reuses the first line's. */
function lineText(kind: Kind, index: number, content: string): string {
  const good = {
    custom_id: `id-${index}`,
    method: 'POST',
    url: endpoint,
    body: { model: 'llama3.2:3b', messages: [{ role: 'user', content }] },
  }
  switch (kind) {
    case 'good':
      return JSON.stringify(good)
    case 'not_json':
      return `{"custom_id": "x", ${JSON.stringify(content)}`
    case 'array':
      return JSON.stringify([good])
    case 'no_custom_id':
      return JSON.stringify({ ...good, custom_id: undefined })
    case 'duplicate':
      return JSON.stringify({ ...good, custom_id: 'id-0' })
    case 'method':
      return JSON.stringify({ ...good, method: 'GET' })
    case 'url':
      return JSON.stringify({ ...good, url: '/v1/embeddings' })
    case 'body':
      return JSON.stringify({ ...good, body: content })
    case 'no_model':
      return JSON.stringify({ ...good, body: { messages: [] } })
  }
}

const fileArbitrary = fc.record({
  kinds: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant<Kind>('good') }, fc.constantFrom(...badKinds)), {
    minLength: 1,
    maxLength: 30,
  }),
  content: fc.string({ unit: 'grapheme', maxLength: 20 }),
  crlf: fc.boolean(),
  blankAfter: fc.array(fc.boolean(), { maxLength: 30 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
})

/** The file's bytes and its lines (numbers count blank lines), fed to a scan cut at the generated places. */
function scan(file: { kinds: Kind[]; content: string; crlf: boolean; blankAfter: boolean[]; cuts: number[] }) {
  // The first line is good, so that a duplicate always has an earlier line to repeat.
  const kinds: Kind[] = ['good', ...file.kinds]
  const end = file.crlf ? '\r\n' : '\n'
  const lines: { kind: Kind; number: number; text: string }[] = []
  let text = ''
  let number = 0
  kinds.forEach((kind, index) => {
    const line = lineText(kind, index, file.content)
    lines.push({ kind, number: ++number, text: line })
    text += line + end
    if (file.blankAfter[index]) {
      text += end
      number++
    }
  })
  const bytes = Buffer.from(text)
  const positions = [...new Set(file.cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const scanner = new LineScan(endpoint)
  let from = 0
  for (const position of [...positions, bytes.length]) {
    scanner.push(bytes.subarray(from, position))
    from = position
  }
  return { bytes, lines, result: scanner.end() }
}

t.test('good files pass, and each line is found where it is', async (t) => {
  await holds(
    t,
    'good batch files pass',
    fc.property(fileArbitrary, (generated) => {
      const file = { ...generated, kinds: generated.kinds.map((): Kind => 'good') }
      const { bytes, lines, result } = scan(file)
      if (!result.ok) return false
      return (
        result.lines.length === lines.length &&
        result.lines.every(
          (line, index) =>
            bytes.toString('utf8', line.offset, line.offset + line.length) === lines[index]!.text &&
            line.customId === `id-${index}`,
        )
      )
    }),
    500,
  )
})

t.test('a file with bad lines fails, naming every bad line and no good one', async (t) => {
  await holds(
    t,
    'every bad batch line is named',
    fc.property(fileArbitrary, (file) => {
      const { lines, result } = scan(file)
      const bad = lines.filter((line) => line.kind !== 'good').map((line) => line.number)
      if (bad.length === 0) return result.ok
      if (result.ok) return false
      const named = result.errors.map((error) => error.line)
      return JSON.stringify(named) === JSON.stringify(bad)
    }),
    1000,
  )
})

t.test('an empty file and a file of blank lines fail', async (t) => {
  for (const text of ['', '\n', '\r\n\r\n  \n']) {
    const scanner = new LineScan(endpoint)
    scanner.push(Buffer.from(text))
    const result = scanner.end()
    t.match(result, { ok: false, errors: [{ code: 'empty_file' }] }, JSON.stringify(text))
  }
})
