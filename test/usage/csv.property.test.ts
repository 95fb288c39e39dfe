// CSV export cells: any text reads back (RFC 4180) as itself, or with a leading apostrophe when a spreadsheet would
// otherwise take it for a formula (OWASP CSV injection: = + - @ tab CR LF first); numbers stay numbers.
import fc from 'fast-check'
import t from 'tap'
import { csvField } from '../../src/usage/csv.js'
import { holds } from '../helpers/fuzz.js'

/** Reads one RFC 4180 cell back; undefined when the text is not exactly one cell. */
function readCell(text: string): string | undefined {
  if (!text.startsWith('"')) return /[",\r\n]/.test(text) ? undefined : text
  if (!text.endsWith('"') || text.length < 2) return undefined
  const inner = text.slice(1, -1)
  if (/(^|[^"])"("")*([^"]|$)/.test(inner.replaceAll('""', ''))) return undefined
  return inner.replaceAll('""', '"')
}

const dangerous = ['=', '+', '-', '@', '\t', '\r', '\n']

t.test('a text cell reads back as itself, neutralised when it would be a formula', async (t) => {
  await holds(
    t,
    'csv cell',
    fc.property(
      fc.oneof(
        fc.string(),
        fc.tuple(fc.constantFrom(...dangerous, '"', ',', "'", ' '), fc.string()).map(([first, rest]) => first + rest),
        fc.constantFrom('=HYPERLINK("http://x","click")', '@SUM(1+1)*cmd|" /C calc"!A0', '-2+3', '+1', '\t=1'),
      ),
      (text) => {
        const cell = readCell(csvField(text))
        if (cell === undefined) return false
        const expected = dangerous.includes(text[0] ?? '') ? `'${text}` : text
        return cell === expected && !dangerous.includes(cell[0] ?? '')
      },
    ),
    5000,
  )
})

t.test('numbers and empty values', async (t) => {
  t.equal(csvField(-5), '-5', 'a number is not text a spreadsheet could run')
  t.equal(csvField(0.25), '0.25')
  t.equal(csvField(null), '')
  t.equal(csvField(undefined), '')
  t.equal(csvField('=1+1'), "'=1+1")
  t.equal(csvField('=A1,"x"'), `"'=A1,""x"""`)
})
