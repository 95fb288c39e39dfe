// What /admin/v1/openapi.json answers: an OpenAPI 3.1 document (its full validation is the test's, with a real
// OpenAPI validator; here only its outline).
import type { RouteDoc } from '../routeDoc.js'

export const openApiDoc: RouteDoc = {
  summary: 'This document: the admin API in OpenAPI 3.1, generated from the route table',
  responses: {
    200: {
      type: 'object',
      required: ['openapi', 'info', 'paths'],
      properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
    },
  },
}
