// The running config, as the request stages read it: a reload (SIGHUP) swaps `current`, and every stage sees the new
// one on its next request without being rebuilt.
import type { Config } from './schema.js'

export interface LiveConfig {
  readonly current: Config
}
