// Gathers what the compliance report looks at from the store, the config and the backup folder, once, for the CLI
// and the server alike. The checks of the audit chain and of the deployment (TLS, proxies, the dependency audit) join as `extra`.
import type { Config } from '../config/schema.js'
import { newestBackupTime } from '../store/backup.js'
import type { Store } from '../store/store.js'
import type { Checkpoint } from '../events/auditCheckpoint.js'
import { auditChainCheck } from './auditChainCheck.js'
import type { ComplianceFacts } from './compliance.js'
import { dependencyAuditCheck, tlsCheck, trustedProxiesCheck } from './deploymentChecks.js'

export function complianceFacts(
  store: Store,
  config: Config,
  now: number,
  /** A signed checkpoint (already checked against its public key) to verify the audit chain up to. */
  checkpoint?: Checkpoint,
): ComplianceFacts {
  const users = store.users.list()
  return {
    now,
    config,
    users,
    keys: store.keys.list(),
    ssoUsers: new Set(users.filter((user) => store.users.ssoLink(user.id) !== undefined).map((user) => user.id)),
    ssoConfigured: config.auth.oidc.issuer !== '',
    newestBackupAt: config.database.backup_dir === '' ? null : newestBackupTime(config.database.backup_dir),
    extra: [
      auditChainCheck(store.db, config, checkpoint),
      tlsCheck(config, now),
      trustedProxiesCheck(config),
      dependencyAuditCheck(now),
    ],
  }
}
