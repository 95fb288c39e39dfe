// The compliance report's Markdown names keys by the names their users chose (POST /auth/v1/keys takes any text), and
// the report is pasted into reviews and wikis: a name must stay text there. Found by the attack review: a key named
// `<img src=x onerror=...>` or `![](https://tracker/)` became HTML or an image in the rendered report, and a name
// ending in a backslash escaped the cell's own separator.
import fc from 'fast-check'
import t from 'tap'
import { complianceMarkdown, complianceReport } from '../../src/admin/compliance.js'
import { configFrom } from '../../src/config/load.js'
import type { ApiKey } from '../../src/store/apiKeys.js'

const now = Date.UTC(2026, 11, 1)

function markdownWithKeyNamed(name: string): string {
  const key: ApiKey = {
    id: 'k1',
    userId: 1,
    username: 'u1',
    prefix: 'plm_k1',
    name,
    description: null,
    models: null,
    createdAt: now - 1000,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: now - 1000,
    replacedBy: null,
    validUntil: null,
    createdByKey: null,
    signed: false,
    allowIp: null,
  }
  const user = {
    id: 1,
    username: 'u1',
    email: null,
    displayName: null,
    passwordHash: null,
    role: 'admin' as const,
    active: true,
    createdAt: now,
    updatedAt: now,
    lastLoginAt: null,
    tokenEpoch: 0,
    weight: 1,
    allowIp: null,
  }
  const facts = {
    now,
    config: configFrom({}),
    users: [user],
    keys: [key],
    ssoUsers: new Set<number>(),
    ssoConfigured: false,
    newestBackupAt: null,
    extra: [],
  }
  return complianceMarkdown(complianceReport(facts))
}

/** The list item naming the key: `- k1 (u1, NAME)`. */
function itemOf(markdown: string): string {
  return markdown.split('\n').find((line) => line.startsWith('- k1 '))!
}

/** Characters that make Markdown (HTML, links, images, code, emphasis, table cells) when not escaped. */
const markup = /[\\`*_[\]<>|!]/

/** What is left of a line once its backslash escapes are taken out: no markup may remain. */
const unescaped = (line: string) => line.replace(/\\[\\`*_[\]<>|!]/g, '')

t.test('a key name stays text in the Markdown', async (t) => {
  for (const name of [
    '<img src=x onerror=alert(1)>',
    '![](https://tracker.example/p.png)',
    '[x](javascript:y)',
    'a\\',
  ]) {
    const item = itemOf(markdownWithKeyNamed(name))
    t.notMatch(unescaped(item), markup, item)
  }
})

t.test('whatever a key is named, no markup survives unescaped', async () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40, unit: fc.constantFrom(...'ab<>[]()!`*_|\\ \n#&') }), (name) => {
      return !markup.test(unescaped(itemOf(markdownWithKeyNamed(name))))
    }),
    { numRuns: 300 },
  )
})
