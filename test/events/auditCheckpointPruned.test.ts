// A checkpoint whose row is gone (older than the prune anchor) vouches for nothing that is left: the compliance
// report must not say the rows were verified against it. Found by the attack review: whoever can write the database
// could delete every row, write an anchor past the checkpoint's row (as a retention prune would) and a new chain
// after it, and the report still passed "verified up to and including the checkpoint".
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { auditChainCheck } from '../../src/admin/auditChainCheck.js'
import { configFrom } from '../../src/config/load.js'
import { AuditLog } from '../../src/events/auditLog.js'
import { localActor } from '../../src/events/localActor.js'
import { openStore } from '../../src/store/store.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-audit-pruned-'))
const store = openStore({ path: join(dir, 'p.db'), migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
t.teardown(() => store.close())
const log = new AuditLog(store.db)
const write = (action: string) =>
  log.append({ action, actor: localActor('cli'), target: null, result: 'ok', requestId: null })

t.test('a checkpoint older than the anchor does not let the report pass', async (t) => {
  for (let i = 0; i < 3; i++) write('user.create')
  const signed = write('key.create')
  const checkpoint = { seq: signed.seq, hash: signed.hash, time: new Date().toISOString(), signature: 'x' }
  const config = configFrom({})
  t.equal(auditChainCheck(store.db, config, checkpoint).status, 'pass', 'its row is there: verified')
  // The forgery: every row gone, an anchor past the checkpoint, and a chain of the forger's own after it.
  // (The triggers only slow a writer down: the anchor first, then the rows under it, with the prune's flag.)
  store.db.exec('INSERT INTO audit_prune (id) VALUES (1)')
  store.db
    .prepare('INSERT INTO audit_anchor (id, seq, hash, time) VALUES (1, ?, ?, ?)')
    .run(signed.seq + 5, 'f'.repeat(64), Date.now())
  store.db.exec('DELETE FROM audit_log')
  store.db.exec('DELETE FROM audit_prune')
  write('config.reload')
  const check = auditChainCheck(store.db, config, checkpoint)
  t.not(check.status, 'pass')
  t.match(check.detail, /older than/)
})
