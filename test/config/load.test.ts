// Configuration: defaults < file < env, and every way a value can be wrong, reported with path, value and expectation.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { renderDocumented } from '../../src/config/describe.js'
import { configFrom, loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/config/validate.js'
import { defaultsHeader } from '../../cli/config.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-config-'))
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

/** The problems a config raises, as `path: expected` lines. */
function problems(run: () => unknown): string[] {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => `${problem.path}: ${problem.expected}`)
    throw error
  }
  return []
}

t.test('built-in defaults when no file is found', async (t) => {
  const { config, source } = loadConfig({ searchPaths: [join(dir, 'absent.yaml')], env: {} })
  t.equal(source, '(built-in defaults)')
  t.equal(config.server.port, 11435)
  t.same(config.backends, [{ url: 'http://127.0.0.1:11434', name: '127.0.0.1:11434', weight: 1, parallel: 1 }])
  t.equal(config.timeouts.first_byte, 600_000)
  t.equal(config.limits.max_body_bytes, 64 * 1024 * 1024)
})

t.test('the first existing search path is read; --config must exist', async (t) => {
  const path = file('found.yaml', 'server:\n  port: 9000\n')
  t.equal(loadConfig({ searchPaths: [join(dir, 'no.yaml'), path], env: {} }).config.server.port, 9000)
  t.match(
    problems(() => loadConfig({ path: join(dir, 'missing.yaml'), env: {} })),
    [/\(file\): a readable YAML file \(ENOENT\)/],
  )
})

t.test('file values, then env overrides, with units', async (t) => {
  const path = file(
    'full.yaml',
    [
      'server: { host: 0.0.0.0, port: 8080 }',
      'backends:',
      '  - url: http://gpu1:11434/',
      '    weight: 3',
      '  - { url: "https://gpu2.example:443", name: gpu2, parallel: 4 }',
      'timeouts: { connect: 250ms, first_byte: 5m, idle: 30s, total: 2h }',
      'limits: { max_body_bytes: 10MiB }',
      'log: { level: warn }',
    ].join('\n'),
  )
  const { config } = loadConfig({
    path,
    env: { PARALLAMA_SERVER__PORT: '9090', PARALLAMA_LOG__LEVEL: 'debug', HOME: '/x' },
  })
  t.equal(config.server.host, '0.0.0.0')
  t.equal(config.server.port, 9090, 'env beats file')
  t.equal(config.log.level, 'debug')
  t.same(config.backends, [
    { url: 'http://gpu1:11434', name: 'gpu1:11434', weight: 3, parallel: 1 },
    { url: 'https://gpu2.example', name: 'gpu2', weight: 1, parallel: 4 },
  ])
  t.same(config.timeouts, { connect: 250, first_byte: 300_000, idle: 30_000, total: 7_200_000 })
  t.equal(config.limits.max_body_bytes, 10 * 1024 * 1024)
})

t.test('backends from env: comma-separated URLs or JSON', async (t) => {
  t.same(
    configFrom({}, { PARALLAMA_BACKENDS: 'http://a:1, http://b:2' }).backends.map((backend) => backend.url),
    ['http://a:1', 'http://b:2'],
  )
  t.same(configFrom({}, { PARALLAMA_BACKENDS: '[{"url": "http://c:3", "weight": 2}]' }).backends, [
    { url: 'http://c:3', name: 'c:3', weight: 2, parallel: 1 },
  ])
  t.match(
    problems(() => configFrom({}, { PARALLAMA_BACKENDS: '[{"url": ' })),
    [/PARALLAMA_BACKENDS: a JSON list/],
  )
  t.equal(configFrom({}, { PARALLAMA_SERVER__ALLOW_JS_FALLBACK: '1' }).server.allow_js_fallback, true)
})

t.test('every kind of wrong value names its path, the value and what was expected', async (t) => {
  const cases: [string, Record<string, any>, Record<string, string>, RegExp][] = [
    ['unknown section', { sever: {} }, {}, /^sever: no such key \(known here: server, backends/],
    ['unknown key', { server: { prot: 1 } }, {}, /^server.prot: no such key \(known here: host, port/],
    ['section not a mapping', { server: 'x' }, {}, /^server: a mapping of keys to values/],
    ['port not a number', { server: { port: 'http' } }, {}, /^server.port: an integer from 0 to 65535/],
    ['port out of range', { server: { port: 70000 } }, {}, /^server.port: an integer/],
    ['port fraction', { server: { port: 80.5 } }, {}, /^server.port: an integer/],
    ['host with spaces', { server: { host: 'my host' } }, {}, /^server.host: an IP address or host name/],
    [
      'bool as string in YAML',
      { server: { allow_js_fallback: 'yes' } },
      {},
      /^server.allow_js_fallback: true or false/,
    ],
    ['backends not a list', { backends: 'http://a' }, {}, /^backends: a list of at least 1 entries/],
    ['backends empty', { backends: [] }, {}, /^backends: a list of at least 1 entries/],
    ['backend without url', { backends: [{ name: 'a' }] }, {}, /^backends\[0\].url: a backend URL/],
    ['backend url not http', { backends: [{ url: 'ftp://a' }] }, {}, /^backends\[0\].url: an http/],
    ['backend url with query', { backends: [{ url: 'http://a/?x=1' }] }, {}, /without query/],
    ['backend url garbage', { backends: [{ url: 'not a url' }] }, {}, /^backends\[0\].url: an http/],
    [
      'backend weight zero',
      { backends: [{ url: 'http://a', weight: 0 }] },
      {},
      /^backends\[0\].weight: an integer from 1/,
    ],
    [
      'backend parallel zero',
      { backends: [{ url: 'http://a', parallel: 0 }] },
      {},
      /^backends\[0\].parallel: an integer from 1 to 1024/,
    ],
    [
      'upstream retries past 10',
      {},
      { PARALLAMA_UPSTREAM__RETRIES: '11' },
      /^upstream.retries: an integer from 0 to 10/,
    ],
    [
      'upstream eject_cooldown not a duration',
      { upstream: { eject_cooldown: 'soon' } },
      {},
      /^upstream.eject_cooldown: a duration/,
    ],
    [
      'backend bad name',
      { backends: [{ url: 'http://a', name: 'a b' }] },
      {},
      /^backends\[0\].name: a name of 1 to 64/,
    ],
    [
      'duplicate names',
      { backends: [{ url: 'http://a' }, { url: 'http://a' }] },
      {},
      /^backends\[1\].name: a name no other/,
    ],
    ['duration unit', { timeouts: { idle: '5 days' } }, {}, /^timeouts.idle: a duration such as/],
    ['duration zero', { timeouts: { connect: 0 } }, {}, /^timeouts.connect: a duration .*at least 1ms/],
    ['duration negative', { timeouts: { total: -5 } }, {}, /^timeouts.total: a duration/],
    ['size unit', { limits: { max_body_bytes: '10 parsecs' } }, {}, /^limits.max_body_bytes: a size such as/],
    ['size too small', { limits: { max_body_bytes: 10 } }, {}, /^limits.max_body_bytes: a size .* from 1024/],
    ['level', { log: { level: 'loud' } }, {}, /^log.level: one of debug, info, warn, error, silent/],
    [
      'alias twice',
      {
        models: {
          aliases: [
            { alias: 'gpt-4o', model: 'a:1' },
            { alias: 'GPT-4o', model: 'b:1' },
          ],
        },
      },
      {},
      /^models.aliases\[1\]: an alias no other entry defines \("GPT-4o" is twice\)/,
    ],
    [
      'alias chain',
      {
        models: {
          aliases: [
            { alias: 'a', model: 'b' },
            { alias: 'b', model: 'c:1' },
          ],
        },
      },
      {},
      /^models.aliases\[0\]: a real model as target \("b" is itself an alias/,
    ],
    [
      'alias of itself',
      { models: { aliases: [{ alias: 'llama3', model: 'llama3:latest' }] } },
      {},
      /^models.aliases\[0\]: an alias of another model/,
    ],
    [
      'alias without model',
      { models: { aliases: [{ alias: 'x' }] } },
      {},
      /^models.aliases\[0\]: both an alias and the model/,
    ],
    ['metrics range', { metrics: { allow_from: '127.0.0.1/40' } }, {}, /^metrics.allow_from: address ranges such as/],
    ['alert threshold', { alerts: { thresholds: '80,0' } }, {}, /^alerts.thresholds: percentages from 1 to 1000/],
    ['alert threshold text', { alerts: { thresholds: 'most' } }, {}, /^alerts.thresholds: comma-separated percentages/],
    ['webhook not http', { alerts: { webhook_url: 'ftp://x' } }, {}, /^alerts.webhook_url: an http/],
    ['env not a key', {}, { PARALLAMA_SERVER__PROT: '1' }, /^PARALLAMA_SERVER__PROT: an env var naming a config key/],
    ['env names a section', {}, { PARALLAMA_SERVER: '1' }, /^PARALLAMA_SERVER: an env var naming/],
    ['env wrong type', {}, { PARALLAMA_SERVER__PORT: 'eighty' }, /^server.port: an integer/],
    ['env bool', {}, { PARALLAMA_SERVER__ALLOW_JS_FALLBACK: 'maybe' }, /^server.allow_js_fallback: true or false/],
  ]
  for (const [name, raw, env, expected] of cases) {
    const found = problems(() => configFrom(raw, env))
    t.match(found, [expected], name)
  }
  const many = problems(() => configFrom({ server: { port: -1, host: '' }, log: { level: 'x' } }))
  t.equal(many.length, 3, 'all problems are reported at once')
})

t.test('the error message shows the path, the value given and the expectation', async (t) => {
  t.throws(() => configFrom({ server: { port: 'abc' } }, {}, 'my.yaml'), {
    message: 'invalid configuration (my.yaml):\n  server.port: got "abc", expected an integer from 0 to 65535',
  })
})

t.test('YAML that does not parse, or is not a mapping', async (t) => {
  t.match(
    problems(() => loadConfig({ path: file('bad.yaml', 'server:\n  port: [1,\n'), env: {} })),
    [/^\(yaml line \d+\): valid YAML/],
  )
  t.match(
    problems(() => loadConfig({ path: file('dup.yaml', 'server: {}\nserver: {}\n'), env: {} })),
    [/valid YAML.*(unique|Map keys)/i],
  )
  t.match(
    problems(() => loadConfig({ path: file('list.yaml', '- 1\n- 2\n'), env: {} })),
    [/^\(top level\): a mapping of sections/],
  )
  t.equal(
    loadConfig({ path: file('empty.yaml', '# nothing\n'), env: {} }).config.server.port,
    11435,
    'an empty file means defaults',
  )
})

t.test('conf/parallama.yaml is the documented defaults, and both shipped files are valid', async (t) => {
  const shipped = readFileSync('conf/parallama.yaml', 'utf8')
  t.equal(
    shipped,
    renderDocumented(defaultsHeader),
    'regenerate with: node dist/cli/index.js config defaults > conf/parallama.yaml',
  )
  const production = loadConfig({ path: 'conf/parallama.yaml', env: {} }).config
  t.same(production, configFrom({}), 'the shipped file changes no default')
  const development = loadConfig({ path: 'conf/parallama.dev.yaml', env: {} }).config
  t.equal(development.log.level, 'debug')
})
