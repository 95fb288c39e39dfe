// `parallama audit verify --checkpoint` with a checkpoint older than the prune anchor: its row is gone, so it vouches
// for none of the rows left, and verify must not say the log "holds row N as the checkpoint signed it" (found by the
// attack review: an anchor written past the checkpoint, as a prune writes one, and a chain of one's own passed).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../src/store/database.js'
import { runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-audit-pruned-cli-'))
const db = join(dir, 'parallama.db')
const run = (args: string[]) => runCli([...args, '--db', db])

t.test('a checkpoint older than the anchor fails verify, saying why', async (t) => {
  t.equal((await run(['db', 'migrate'])).code, 0)
  t.equal((await run(['audit', 'verify'])).code, 0)
  const keyFile = join(dir, 'audit.key')
  const keygen = await runCli(['audit', 'keygen', '--out', keyFile])
  writeFileSync(join(dir, 'audit.pub'), keygen.stdout)
  t.equal((await run(['audit', 'checkpoint', '--out', join(dir, 'cp.json'), '--key', keyFile])).code, 0)
  const against = ['audit', 'verify', '--checkpoint', join(dir, 'cp.json'), '--public-key', join(dir, 'audit.pub')]
  t.match(await run(against), { code: 0, stdout: /as the checkpoint signed it/ })
  const raw = openDatabase(db, { busyTimeoutMs: 1000 })
  const last = raw.prepare('SELECT max(seq) AS seq FROM audit_log').get() as { seq: number }
  raw.exec('INSERT INTO audit_prune (id) VALUES (1)')
  raw
    .prepare('INSERT INTO audit_anchor (id, seq, hash, time) VALUES (1, ?, ?, ?)')
    .run(last.seq + 10, 'f'.repeat(64), 0)
  raw.exec('DELETE FROM audit_log')
  raw.exec('DELETE FROM audit_prune')
  raw.close()
  const forged = await run(against)
  t.equal(forged.code, 1)
  t.match(forged.stderr, /older than the prune anchor/)
  t.notMatch(forged.stdout, /as the checkpoint signed it/)
})
