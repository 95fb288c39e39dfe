// The files on disk: a half upload never becomes a file, and files no row names (their owner was deleted, an unlink
// failed) are swept once old enough, never a file whose row is about to be written.
import { mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FileStorage } from '../../src/batch/fileStorage.js'

const hour = 3600_000

t.test('sweep removes only old files no row names', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-files-'))
  const storage = new FileStorage(dir)
  const now = Date.now()
  const write = (name: string, ageMs: number) => {
    writeFileSync(join(dir, name), 'x', { mode: 0o600 })
    const at = (now - ageMs) / 1000
    utimesSync(join(dir, name), at, at)
  }
  write('file-kept', 2 * hour)
  write('file-orphan', 2 * hour)
  write('file-young-orphan', 1000)
  write('.tmp-upload-in-progress', 2 * hour)
  const known = new Set(['file-kept'])
  t.equal(
    storage.sweep((id) => known.has(id), now, hour),
    1,
  )
  t.same(readdirSync(dir).sort(), ['.tmp-upload-in-progress', 'file-kept', 'file-young-orphan'])
  t.equal(
    storage.sweep((id) => known.has(id), now + 2 * hour, hour),
    1,
    'the young one once it is old',
  )
  t.equal(statSync(dir).mode & 0o777, 0o700)
})

t.test('an upload discarded or committed: no temporary left, the committed file readable by its id only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-files-'))
  const storage = new FileStorage(dir)
  const dropped = storage.create()
  dropped.stream.write('half')
  await dropped.discard()
  const kept = storage.create()
  kept.stream.write('{"a":1}\n')
  await kept.commit('file-abc')
  t.same(readdirSync(dir), ['file-abc'])
  t.equal(statSync(storage.pathOf('file-abc')).mode & 0o777, 0o600)
})
