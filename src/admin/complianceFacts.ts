// Gathers what the compliance report looks at from the store, the config and the backup folder, once, for the CLI
// and the server alike. Checks other rooms own (the audit chain, TLS, the dependency audit) come in as `extra`.
import type { Config } from '../config/schema.js'
import { newestBackupTime } from '../store/backup.js'
import type { Store } from '../store/store.js'
import type { ComplianceCheck, ComplianceFacts } from './compliance.js'
import { dependencyAuditCheck, tlsCheck, trustedProxiesCheck } from './deploymentChecks.js'

export function complianceFacts(
  store: Store,
  config: Config,
  now: number,
  extra: ComplianceCheck[] = [],
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
    extra: [tlsCheck(config, now), trustedProxiesCheck(config), dependencyAuditCheck(now), ...extra],
  }
}
