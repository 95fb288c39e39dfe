// `parallama key create --signed --allow-ip`, `key update --allow-ip`, `user set-allow-ip`: what they print (a signing
// secret once, never again), what they store, and the errors for bad ranges (nothing changed).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-keypolicy-cli-'))
const db = join(dir, 'parallama.db')
const run = (args: string[]) => runCli([...args, '--db', db])
const json = async (args: string[]) => JSON.parse((await run([...args, '--json'])).stdout)

await run(['db', 'migrate'])
await run(['user', 'add', 'ann', '--no-password'])

t.test('a signed key with an allow-list: the key, then its signing secret, printed once', async (t) => {
  const created = await run(['key', 'create', '--user', 'ann', '--signed', '--allow-ip', '10.0.0.0/8, ::1'])
  t.equal(created.code, 0, created.stderr)
  const [key, secret] = created.stdout.trim().split('\n')
  t.match(key, /^plm_/)
  t.match(secret, /^pls_[A-Za-z0-9_-]{43}$/)
  t.match(created.stderr, /second line is its signing secret/)
  const id = key!.slice(4, 16)
  const shown = await json(['key', 'show', id])
  t.match(shown, { id, signed: true, allow_ip: ['10.0.0.0/8', '::1'] })
  t.notOk(JSON.stringify(shown).includes(secret!), 'show never prints the secret')
  t.match((await run(['key', 'list'])).stdout, /SIGNED +ALLOW_IP/)
  const rotated = await json(['key', 'rotate', id, '--grace', '0'])
  t.match(rotated, { signed: true, allow_ip: ['10.0.0.0/8', '::1'], signing_secret: /^pls_/ })
  t.not(rotated.signing_secret, secret, 'the successor has a secret of its own')
  const updated = await run(['key', 'update', rotated.id, '--allow-ip', '192.0.2.0/24'])
  t.match(updated.stdout, /may now be used from 192\.0\.2\.0\/24/)
  t.match(await json(['key', 'update', rotated.id, '--allow-ip', 'any']), { allow_ip: null })
  const plain = await run(['key', 'create', '--user', 'ann'])
  t.equal(plain.stdout.trim().split('\n').length, 1, 'an unsigned key prints one line')
})

t.test("a user's allow-list", async (t) => {
  t.match((await run(['user', 'set-allow-ip', 'ann', '203.0.113.0/24'])).stdout, /from 203\.0\.113\.0\/24/)
  t.match(await json(['user', 'show', 'ann']), { allow_ip: ['203.0.113.0/24'] })
  t.match(await json(['user', 'set-allow-ip', 'ann', 'any']), { allow_ip: null })
})

t.test('bad ranges: exit 1 naming the range, nothing changed', async (t) => {
  const cases: [string[], RegExp][] = [
    [['key', 'create', '--user', 'ann', '--allow-ip', '10.0.0.0/40'], /"10\.0\.0\.0\/40" is not an address range/],
    [['user', 'set-allow-ip', 'ann', 'example.com'], /"example\.com" is not an address range/],
  ]
  const before = (await json(['key', 'list'])).length
  for (const [args, message] of cases) {
    const result = await run(args)
    t.equal(result.code, 1, args.join(' '))
    t.match(result.stderr, message)
  }
  t.equal((await json(['key', 'list'])).length, before, 'no key was made')
  t.match(await json(['user', 'show', 'ann']), { allow_ip: null }, 'the user is unchanged')
  const noChange = await run(['key', 'update', 'abcdefghijkl'])
  t.equal(noChange.code, 2)
  t.match(noChange.stderr, /--allow-ip/)
})
