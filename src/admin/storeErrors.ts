// The stores' own errors (UserError, KeyError, WebhookError) as the gateway's coded errors, so that the admin API
// answers them with their status and the CLI prints their message: the same failure, one wording, both ways.
import { GatewayError } from '../errors.js'
import { WebhookError } from '../events/webhookStore.js'
import { KeyError } from '../store/apiKeys.js'
import { UserError } from '../store/users.js'

const codes = {
  invalid_username: 'invalid_request',
  invalid_email: 'invalid_request',
  user_exists: 'user_exists',
  user_not_found: 'user_not_found',
  key_not_found: 'key_not_found',
  key_not_active: 'key_not_active',
  webhook_not_found: 'webhook_not_found',
  invalid_webhook: 'invalid_request',
} as const

/** Runs `work`, turning a store's error into the GatewayError of the same meaning; anything else passes. */
export function storeCall<T>(work: () => T): T {
  try {
    return work()
  } catch (error) {
    if (error instanceof UserError || error instanceof KeyError || error instanceof WebhookError) {
      throw new GatewayError(codes[error.code], error.message)
    }
    throw error
  }
}
