// Attack (issue 12 review): an option of `parallama webhook` given twice reached the code as an array — `--events`
// twice crashed `add` with a TypeError and a stack trace, `--webhook`/`--state` twice crashed `deliveries` in SQLite.
// Each must be refused with a clear message and exit code 2, and nothing written.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runCli } from '../helpers/cli.js'

t.test('an option given twice is refused with a clear error, nothing written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-webhook-cli-'))
  const configFile = join(dir, 'parallama.yaml')
  writeFileSync(configFile, 'log:\n  level: info\n')
  const env = { PARALLAMA_DATABASE__PATH: join(dir, 'parallama.db') }
  const cli = (...args: string[]) => runCli([...args, '--config', configFile], { env })
  t.equal((await cli('db', 'migrate')).code, 0)

  const cases: [string[], string][] = [
    [['webhook', 'add', 'http://127.0.0.1:9/h', '--events', '*', '--events', 'key.*'], 'events'],
    [
      ['webhook', 'add', 'http://127.0.0.1:9/h', '--events', '*', '--secret-file', 'a', '--secret-file', 'b'],
      'secret-file',
    ],
    [['webhook', 'deliveries', '--webhook', 'wh_a', '--webhook', 'wh_b'], 'webhook'],
    [['webhook', 'deliveries', '--state', 'dead', '--state', 'pending'], 'state'],
  ]
  for (const [args, option] of cases) {
    const run = await cli(...args)
    t.equal(run.code, 2, `${args.join(' ')}: exit code 2`)
    t.match(run.stderr, new RegExp(`--${option}: give it once`), 'the message names the option')
    t.notMatch(run.stderr, /TypeError|at .*\.js:\d+/, 'no stack trace')
  }
  const listed = await cli('webhook', 'list', '--json')
  t.same(JSON.parse(listed.stdout), [], 'no webhook was added')
})
