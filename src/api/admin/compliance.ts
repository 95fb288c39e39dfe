// GET /admin/v1/compliance: the compliance report (src/admin/compliance.ts) for the dashboard and scripts. It reads.
import { complianceReport } from '../../admin/compliance.js'
import { complianceFacts } from '../../admin/complianceFacts.js'
import type { Config } from '../../config/schema.js'
import { GatewayError } from '../../errors.js'
import type { Store } from '../../store/store.js'
import type { JsonHandler } from '../jsonRoute.js'

export interface ComplianceContext {
  store: Store
  config: () => Config
}

/** A whole number of days from the query, 1 to 36500, or the default. */
function daysFrom(query: URLSearchParams, name: string, fallback: number): number | GatewayError {
  const text = query.get(name)
  if (text === null) return fallback
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  if (value >= 1 && value <= 36_500) return value
  return new GatewayError('invalid_request', `"${name}" must be a whole number of days from 1 to 36500`)
}

export function complianceHandlers(context: ComplianceContext): Record<string, JsonHandler> {
  return {
    compliance: ({ request }) => {
      const query = new URLSearchParams(request.query)
      const unusedDays = daysFrom(query, 'unused_days', 90)
      if (unusedDays instanceof GatewayError) return unusedDays
      const keyAgeDays = daysFrom(query, 'key_age_days', 365)
      if (keyAgeDays instanceof GatewayError) return keyAgeDays
      const facts = complianceFacts(context.store, context.config(), Date.now())
      return { status: 200, body: complianceReport(facts, { unusedDays, keyAgeDays }) }
    },
  }
}
