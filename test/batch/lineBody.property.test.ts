// Properties of a batch line's body as it is sent on (src/batch/lineCheck.ts lineBody): whatever the order of the
// line's keys, the whitespace between them and the JSON inside the body (numbers a double cannot hold, -0, lone
// surrogates, duplicate keys, deep nesting within the gateway's limit), the bytes sent are exactly the bytes the file
// holds; a line naming "body" twice is refused, as JSON.parse would silently keep the last.
import fc from 'fast-check'
import t from 'tap'
import { lineBody } from '../../src/batch/lineCheck.js'
import { GatewayError } from '../../src/errors.js'
import { holds } from '../helpers/fuzz.js'

/** JSON values JSON.parse + JSON.stringify would not give back as written. */
const awkward = fc.constantFrom('1e309', '-0', '9007199254740993', '1.0', '"\\ud800"', '{"a":1,"a":2}', '[[[[[]]]]]')
const value = fc.oneof(fc.json(), awkward)
const space = fc.constantFrom('', ' ', '\t', '  ')

const bodyText = fc
  .tuple(value, value, space)
  .map(([first, second, gap]) => `{${gap}"model":"llama3.2:3b",${gap}"x":${first},"y"${gap}:${gap}${second}${gap}}`)

/** A line with `body` among the other members in a generated order, with generated whitespace. */
const lineOf = (body: string, order: number[], gap: string) => {
  const members = [`"custom_id":"c"`, `"method":"POST"`, `"url":"/v1/chat/completions"`, `"body":${gap}${body}`]
  return `${gap}{${order.map((index) => members[index]).join(`${gap},${gap}`)}}${gap}`
}
const order = fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 })

t.test('a line body is sent as written', async (t) => {
  await holds(
    t,
    'the body bytes sent are the bytes in the file',
    fc.property(bodyText, order, space, (body, keys, gap) => {
      const sent = lineBody(Buffer.from(lineOf(body, keys, gap)))
      return !(sent instanceof GatewayError) && sent.toString() === body
    }),
    500,
  )
  await holds(
    t,
    'a line naming "body" twice is refused',
    fc.property(bodyText, bodyText, order, (first, second, keys) => {
      const line = lineOf(first, keys, '').replace(/}$/, `,"body":${second}}`)
      const sent = lineBody(Buffer.from(line))
      return sent instanceof GatewayError && /given more than once/.test(sent.message)
    }),
    300,
  )
})
