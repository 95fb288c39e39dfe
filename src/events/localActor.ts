// The actor of what happens on the box itself, with no credential: a CLI command (whoever may run it with the
// database's permissions acts) or the server's own doings (a config reload on SIGHUP, the retention prune): the OS
// user and the host name stand for who it was.
import { hostname, userInfo } from 'node:os'
import type { AuditActor } from './auditEntry.js'

export function localActor(source: 'cli' | 'system'): AuditActor {
  let osUser: string | null
  try {
    osUser = userInfo().username
  } catch {
    // A uid with no passwd entry (a container): the uid itself.
    osUser = process.getuid ? `uid:${process.getuid()}` : null
  }
  return { source, user: null, keyId: null, clientIp: null, osUser, host: hostname() }
}
