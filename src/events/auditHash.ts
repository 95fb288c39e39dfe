// One audit row as stored, and the hash that chains it: SHA-256 over a canonical encoding of every stored field (a JSON
// array in a fixed order; before/after are hashed as the exact JSON text stored) plus the previous row's hash.
import { createHash } from 'node:crypto'

/** The chain's start: the previous hash of the first row ever written. */
export const genesisHash = '0'.repeat(64)

export interface AuditRow {
  seq: number
  time: number
  action: string
  source: string
  actor_user: string | null
  key_id: string | null
  client_ip: string | null
  os_user: string | null
  host: string | null
  target: string | null
  before: string | null
  after: string | null
  result: string
  error: string | null
  request_id: string | null
  prev_hash: string
  hash: string
}

/** The hash a row must carry, from its fields and prev_hash (never its own hash column). */
export function rowHash(row: Omit<AuditRow, 'hash'>): string {
  const fields = [
    row.seq,
    row.time,
    row.action,
    row.source,
    row.actor_user,
    row.key_id,
    row.client_ip,
    row.os_user,
    row.host,
    row.target,
    row.before,
    row.after,
    row.result,
    row.error,
    row.request_id,
    row.prev_hash,
  ]
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex')
}
