// The CLI's audit trail: the acting OS user and host name (src/events/localActor.ts), and a recorder that writes to the database the command opened. A command that
// opened the file read-only records through a short-lived writable connection; when the file cannot be written at
// all, the read goes on unrecorded with a note (whoever can only read the file can read it without the CLI anyway).
import type { AuditTrail } from '../src/admin/auditTrail.js'
import type { AuditEntry, AuditRecorder } from '../src/events/auditEntry.js'
import { AuditLog } from '../src/events/auditLog.js'
import { localActor } from '../src/events/localActor.js'
import { openDatabase } from '../src/store/database.js'
import type { Store } from '../src/store/store.js'

export function cliTrail(store: Store, readOnly: boolean, path: string, busyTimeoutMs: number): AuditTrail {
  const recorder = readOnly ? new SideRecorder(path, busyTimeoutMs) : new AuditLog(store.db)
  return { recorder, actor: localActor('cli'), requestId: null }
}

/** Writes each row through its own writable connection (the command's own is read-only). */
class SideRecorder implements AuditRecorder {
  constructor(
    private readonly path: string,
    private readonly busyTimeoutMs: number,
  ) {}

  record(entry: AuditEntry): void {
    let db
    try {
      db = openDatabase(this.path, { busyTimeoutMs: this.busyTimeoutMs })
      new AuditLog(db).record(entry)
    } catch (error) {
      if (!/readonly|read-only|unable to open|SQLITE_CANTOPEN/i.test(String((error as Error).message))) throw error
      process.stderr.write(`parallama: ${entry.action} not recorded in the audit log: the database is read-only here\n`)
    } finally {
      db?.close()
    }
  }
}
