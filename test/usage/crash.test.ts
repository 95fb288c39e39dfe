// A crash (SIGKILL in the middle of load) loses at most the last flush window of usage rows, and never corrupts the
// database file.
import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'
import { runCli } from '../helpers/cli.js'

t.test('SIGKILL mid-load: integrity_check ok, rows up to one flush window before the kill', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const dir = mkdtempSync(join(tmpdir(), 'parallama-crash-'))
  const env = {
    PATH: process.env.PATH,
    PARALLAMA_DATABASE__PATH: join(dir, 'parallama.db'),
    PARALLAMA_AUTH__JWT_SECRET_FILE: join(dir, 'jwt.key'),
    PARALLAMA_BACKENDS: emulator.url,
    PARALLAMA_SERVER__PORT: '0',
    PARALLAMA_USAGE__FLUSH_INTERVAL: '100ms',
  }
  const { PATH: _path, ...settings } = env
  await runCli(['user', 'add', 'load', '--no-password'], { env: settings })
  const key = (await runCli(['key', 'create', '--user', 'load'], { env: settings })).stdout.trim()
  const server = spawn(process.execPath, ['dist/cli/index.js', 'serve'], { env })
  const port = await new Promise<number>((resolve) => {
    let output = ''
    server.stdout.on('data', (data: Buffer) => {
      output += data.toString()
      const match = /"msg":"listening".*"port":(\d+)/.exec(output)
      if (match) resolve(Number(match[1]))
    })
  })
  // The promise holds once the writer thread is up: wait for a first row (its start-up takes seconds on a loaded
  // machine, and rows queued before it runs are, like any unflushed row, what a kill may take).
  const first = await request(`http://127.0.0.1:${port}/api/version`, { headers: { authorization: `Bearer ${key}` } })
  await first.body.dump()
  const probe = new Database(env.PARALLAMA_DATABASE__PATH, { readonly: true })
  const written = () => (probe.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n
  for (const deadline = Date.now() + 60_000; written() === 0 && Date.now() < deadline;) await sleep(50)
  const before = written()
  probe.close()
  t.equal(before, 1, 'the writer is up: the first row is written')
  const completedAt: number[] = []
  let stop = false
  const worker = async () => {
    while (!stop) {
      try {
        const response = await request(`http://127.0.0.1:${port}/api/generate`, {
          method: 'POST',
          body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'x', stream: false }),
          headers: { authorization: `Bearer ${key}`, 'x-emulator-tokens': '3' },
        })
        await response.body.dump()
        if (response.statusCode === 200) completedAt.push(Date.now())
      } catch {
        return
      }
    }
  }
  const workers = Array.from({ length: 20 }, worker)
  // Under load until enough requests completed: a fixed time gives too few on a busy machine.
  for (const deadline = Date.now() + 60_000; completedAt.length <= 120 && Date.now() < deadline;) await sleep(50)
  const exited = new Promise((resolve) => server.once('exit', resolve))
  const killedAt = Date.now()
  server.kill('SIGKILL')
  stop = true
  await Promise.all(workers)
  await exited

  const db = new Database(env.PARALLAMA_DATABASE__PATH)
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the file is not corrupt')
  const rows = (db.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n
  const safe = completedAt.filter((at) => at < killedAt - 300).length
  t.ok(completedAt.length > 100, `${completedAt.length} requests completed under load`)
  t.ok(rows - before >= safe, `${rows} rows kept; ${safe} requests completed more than a flush window before the kill`)
  t.ok(rows - before <= completedAt.length + 20, 'no row for a request that did not happen')
  const hourly = (db.prepare('SELECT SUM(requests) AS n FROM usage_hourly').get() as { n: number }).n
  t.equal(hourly, rows, 'rollups were written in the same transactions as the rows')
  db.close()
})
