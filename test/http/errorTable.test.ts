// The one error table, the docs and the dialect renderers stay in step: every code is documented, and each dialect
// renders every code with its status and the code itself.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { errorTable, GatewayError, type ErrorCode } from '../../src/errors.js'
import { errorBody, type Dialect } from '../../src/http/errorResponse.js'

const docs = readFileSync('README.md', 'utf8') + readFileSync('docs/auth.md', 'utf8')

t.test('every error code is documented', async (t) => {
  for (const code of Object.keys(errorTable)) t.ok(docs.includes(`\`${code}\``), code)
})

t.test('each dialect renders every code', async (t) => {
  for (const code of Object.keys(errorTable) as ErrorCode[]) {
    const error = new GatewayError(code)
    for (const dialect of ['ollama', 'problem'] as Dialect[]) {
      const body = JSON.parse(errorBody(dialect, error, 'req-1'))
      t.equal(body.code, code, `${dialect} ${code}`)
      if (dialect === 'ollama') t.equal(body.error, errorTable[code].message)
      else t.match(body, { status: errorTable[code].status, detail: errorTable[code].message, request_id: 'req-1' })
    }
  }
})
