// Checks a real answer of an admin route against the schema its route table entry documents (src/api/routeDoc.ts),
// with a JSON Schema 2020-12 validator (the dialect of OpenAPI 3.1). A mismatch throws, naming the route, status and
// every failed keyword, so the test that made the request fails. An error status the route does not list must be a
// problem (the document's `default`).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { documentedResponse } from '../../src/api/openApi.js'

// ajv-formats is CommonJS: its default export is the function, under `default` once more through ESM interop.
type AddFormats = (ajv: Ajv2020) => unknown
const formatsExport = addFormatsModule as unknown as AddFormats & { default?: AddFormats }
const addFormats = formatsExport.default ?? formatsExport

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false })
addFormats(ajv)
// Keywords OpenAPI allows beside JSON Schema's.
ajv.addKeyword('example')
const compiled = new Map<string, ValidateFunction>()

/** Throws unless `body` is what `routeName` (`users_list` or `admin.users_list`) documents for `status`. */
export function expectMatches(routeName: string, status: number, body: unknown): void {
  const schema = documentedResponse(routeName, status)
  if (schema === undefined) throw new Error(`${routeName} does not document status ${status}`)
  if (schema === null) {
    if (body !== undefined && body !== '') throw new Error(`${routeName} ${status} documents no body, got one`)
    return
  }
  const id = `${routeName} ${status}`
  let validate = compiled.get(id)
  if (!validate) {
    validate = ajv.compile(schema)
    compiled.set(id, validate)
  }
  if (!validate(body)) {
    const errors = validate.errors!.map((error) => `${error.instancePath || '/'} ${error.message}`).join('; ')
    throw new Error(`${id}: the answer does not match its documented schema: ${errors}\n${JSON.stringify(body)}`)
  }
}
