// The dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core (no browser download), in
// front of the real gateway and the emulator. An admin and a user each sign in and use the pages; screenshots of every
// page land in test/artifacts/ for a reviewer. Pages whose admin endpoints are not in this build are visited and
// photographed but their content is not asserted (each such check says what it waits for).
import { hash } from '@node-rs/argon2'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import t from 'tap'
import { projectPath } from '../helpers/projectPath.js'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

const browserPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const artifacts = projectPath('test/artifacts/')

/** A route of the build, or one still to come (the 404 of an unknown path says "no route for"). */
async function routeExists(rig: Rig, method: string, path: string): Promise<boolean> {
  const answer = await request(`${rig.url}${path}`, { method, headers: rig.headers })
  const text = await answer.body.text()
  return !(answer.statusCode === 404 && text.includes('no route for'))
}

/** The usage report as CSV, or (a build without it) the JSON report whatever `format` says. */
async function answersCsv(rig: Rig): Promise<boolean> {
  const answer = await request(`${rig.url}/admin/v1/usage?format=csv`, { headers: rig.headers })
  await answer.body.text()
  return String(answer.headers['content-type']).startsWith('text/csv')
}

async function generate(rig: Rig, headers: Record<string, string>): Promise<number> {
  const answer = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
  })
  await answer.body.text()
  return answer.statusCode
}

async function signIn(page: Page, rig: Rig, username: string, password: string): Promise<void> {
  await page.goto(`${rig.url}/ui/`)
  // By keyboard only: the form must work without a mouse.
  await page.getByLabel('Username').focus()
  await page.keyboard.type(username)
  await page.keyboard.press('Tab')
  await page.keyboard.type(password)
  await page.keyboard.press('Enter')
  await page.getByRole('navigation', { name: 'Dashboard' }).waitFor()
}

async function open(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: title }).click()
  await page.getByRole('heading', { level: 1, name: title }).waitFor()
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true })
}

if (!existsSync(browserPath) && !process.env.CI) {
  t.plan(0, `no Chromium at ${browserPath} (apt-get install chromium; .ci/run does)`)
} else {
  t.test('the dashboard in Chromium', async (t) => {
    mkdirSync(artifacts, { recursive: true })
    // Access tokens of 2 s: the pages outlive many of them, so the dashboard refreshes its login as it goes (two
    // calls refused at once must share one refresh: a refresh token used twice ends the login).
    const rig = await startRig(t, { auth: { access_token_ttl: '2s' } })
    const { store } = rig.gateway
    store.users.add({ username: 'ada', role: 'admin', passwordHash: await hash('ada password 1') })
    store.users.add({ username: 'bob', role: 'user', passwordHash: await hash('bob password 1') })
    const bob = rig.addKey({ username: 'bob' })
    // Traffic before anyone looks: three requests by the admin's key, two by bob's.
    for (const headers of [rig.headers, rig.headers, rig.headers, bob.headers, bob.headers]) {
      t.equal(await generate(rig, headers), 200)
    }
    const has = {
      overview: await routeExists(rig, 'GET', '/admin/v1/overview'),
      rotate: await routeExists(rig, 'POST', '/admin/v1/keys/none/rotate'),
      models: await routeExists(rig, 'GET', '/admin/v1/models'),
      users: await routeExists(rig, 'GET', '/admin/v1/users'),
      csv: await answersCsv(rig),
      limits: await routeExists(rig, 'GET', '/admin/v1/limits'),
      pagedRequests:
        'items' in
        ((await (
          await request(`${rig.url}/admin/v1/usage/requests?limit=1`, { headers: rig.headers })
        ).body.json()) as object),
    }
    const browser: Browser = await chromium.launch({
      executablePath: browserPath,
      headless: true,
      args: ['--no-sandbox'],
    })
    t.teardown(() => browser.close())
    /** What the page logged as an error (a CSP refusal among them): none is expected. */
    const problems: string[] = []
    /** The status of every refresh the pages made. */
    const refreshes: number[] = []
    const watch = (page: Page) => {
      page.on('console', (message) => {
        // A refused call is the page's business (shown on the page); a policy violation or a script error is not.
        if (message.type() === 'error' && !/status of (401|403|404)/.test(message.text())) problems.push(message.text())
      })
      page.on('pageerror', (error) => problems.push(error.message))
      page.on('response', (response) => {
        if (response.url().endsWith('/auth/v1/refresh')) refreshes.push(response.status())
      })
    }

    t.test('an admin', async (t) => {
      const context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 900 } })
      await context.grantPermissions(['clipboard-read', 'clipboard-write'])
      const page = await context.newPage()
      watch(page)
      await signIn(page, rig, 'ada', 'ada password 1')

      await t.test('sees the overview', async (t) => {
        await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
        if (has.overview) {
          await page.getByTestId('overview-totals').getByText('5 requests').waitFor()
          t.equal((await page.locator('.chart canvas').count()) > 0, true, 'the charts are drawn')
        } else t.comment('overview content waits for GET /admin/v1/overview (scale helper)')
        await shoot(page, 'overview')
      })

      let secret = ''
      await t.test('creates a key, copies it, and the key works', async (t) => {
        await open(page, 'Keys')
        await page.getByLabel('Name').fill('browser key')
        await page.getByRole('button', { name: 'Create key' }).click()
        const shown = page.getByTestId('new-key')
        await shown.waitFor()
        secret = await shown.inputValue()
        t.ok(secret.length > 20, 'the secret is shown')
        await page.getByRole('button', { name: 'Copy key' }).click()
        await page.getByRole('status').getByText('Copied.').waitFor()
        t.equal(await page.evaluate('navigator.clipboard.readText()'), secret, 'the copy button copied the secret')
        await shoot(page, 'keys-new')
        t.equal(await generate(rig, { authorization: `Bearer ${secret}` }), 200, 'the new key is accepted')
        await page.getByRole('button', { name: 'Done' }).click()
        t.equal(await page.getByTestId('new-key').count(), 0, 'the secret is gone once dismissed')
      })

      await t.test('revokes the key, and the key is refused', async (t) => {
        await page.getByRole('button', { name: 'Revoke key browser key' }).click()
        await page.getByRole('button', { name: 'Confirm: Revoke key browser key' }).click()
        await page.getByRole('cell', { name: 'revoked' }).waitFor()
        t.equal(await generate(rig, { authorization: `Bearer ${secret}` }), 401, 'the revoked key is refused')
        await shoot(page, 'keys')
      })

      await t.test('rotates a key: the successor is shown once and works', async (t) => {
        if (!has.rotate) return void t.comment('waits for POST /admin/v1/keys/{id}/rotate (api helper)')
        await page.getByLabel('Name').fill('rotating key')
        await page.getByRole('button', { name: 'Create key' }).click()
        const first = await page.getByTestId('new-key').inputValue()
        await page.getByRole('button', { name: 'Done' }).click()
        await page.getByRole('button', { name: 'Rotate key rotating key' }).click()
        const successor = await page.getByTestId('new-key').inputValue()
        t.not(successor, first, 'a new secret')
        t.equal(await generate(rig, { authorization: `Bearer ${successor}` }), 200, 'the successor is accepted')
        await page.getByRole('button', { name: 'Done' }).click()
      })

      await t.test("sees everyone's usage, with the requests just made", async (t) => {
        await open(page, 'Usage')
        // Five before, one with the new key (the refused one wrote a row too, as an error).
        const table = page.getByRole('table', { name: 'Usage by day' })
        await table.waitFor()
        const requests = Number((await table.locator('tbody tr td').nth(1).innerText()).replace(/\D/g, ''))
        t.equal(requests >= 6, true, `the day counts ${requests} requests`)
        t.ok(await page.locator('.chart canvas').count(), 'the usage chart is drawn')
        await page.getByLabel('Group by').selectOption('user')
        await page
          .getByRole('table', { name: 'Usage by user' })
          .getByRole('cell', { name: 'bob', exact: true })
          .waitFor()
        await page.getByLabel('Group by').selectOption('day')
        await page.getByRole('table', { name: 'Usage by day' }).waitFor()
        if (has.csv) {
          const [download] = await Promise.all([
            page.waitForEvent('download'),
            page.getByRole('button', { name: 'Export CSV' }).click(),
          ])
          t.equal(download.suggestedFilename(), 'usage-by-day-7d.csv')
          const csv = readFileSync(await download.path(), 'utf8')
          t.match(csv, /^group,requests,errors,prompt_tokens,completion_tokens,cost\r\n\d{4}-\d{2}-\d{2},\d+,/)
        } else t.comment('the CSV export waits for GET /admin/v1/usage?format=csv (scale helper)')
        await shoot(page, 'usage')
      })

      await t.test('pulls a model with a progress bar, drains and undrains a backend', async (t) => {
        if (!has.models) return void t.comment('waits for /admin/v1/models and /admin/v1/backends (models helper)')
        await open(page, 'Models')
        await page
          .getByRole('table', { name: 'Backends' })
          .getByRole('cell', { name: 'emulator', exact: true })
          .waitFor()
        await page.getByLabel('Model to pull').fill('tinyllama:1b')
        await page.getByRole('button', { name: 'Pull model' }).click()
        const bar = page.getByRole('progressbar', { name: 'Pull progress on emulator' })
        await bar.waitFor()
        await page.getByText('emulator: success').waitFor()
        t.equal(await bar.getAttribute('value'), await bar.getAttribute('max'), 'the bar is full')
        // Opened again: the gateway reads a backend's inventory again once its pull ends, not before the stream ends.
        await open(page, 'Requests')
        await open(page, 'Models')
        await page
          .getByRole('table', { name: 'Models on each backend' })
          .getByRole('cell', { name: 'tinyllama:1b', exact: true })
          .waitFor()
        await shoot(page, 'models-pulled')
        await page.getByRole('button', { name: 'Drain emulator' }).click()
        await page.getByRole('button', { name: 'Undrain emulator' }).click()
        await page.getByRole('button', { name: 'Drain emulator' }).waitFor()
        t.pass('drained and undrained')
      })

      await t.test('creates a user and disables them; sets a limit', async (t) => {
        if (has.users) {
          await open(page, 'Users')
          const form = page.getByRole('form', { name: 'Create a user' })
          await form.getByLabel('Name').fill('carol')
          await form.getByLabel('Password').fill('carol password 1')
          await form.getByRole('button', { name: 'Create user' }).click()
          await page.getByRole('button', { name: 'Disable carol' }).click()
          await page.getByRole('button', { name: 'Enable carol' }).waitFor()
          t.equal(store.users.find('carol')?.active, false, 'carol is disabled in the store')
          await shoot(page, 'users-carol')
        } else t.comment('waits for /admin/v1/users (api helper)')
        if (has.limits) {
          await open(page, 'Limits')
          await page.getByLabel('Subject name').fill('bob')
          await page.getByRole('button', { name: 'Show limits' }).click()
          await page.getByRole('form', { name: 'Set limits' }).getByLabel('rpm').fill('100')
          await page.getByRole('button', { name: 'Save limits' }).click()
          await page
            .getByRole('table', { name: 'Every limit rule' })
            .getByRole('cell', { name: 'rpm 100', exact: true })
            .waitFor()
          t.equal(await page.getByRole('alert').count(), 0, 'no refusal')
          await page.getByLabel('Name or id').fill('bob')
          await page.getByRole('button', { name: 'Explain', exact: true }).click()
          await page
            .getByRole('table', { name: 'Limits that apply' })
            .getByRole('cell', { name: 'rpm', exact: true })
            .waitFor()
          await shoot(page, 'limits-bob')
        } else t.comment('waits for /admin/v1/limits (api helper)')
      })

      await t.test('visits every other page', async (t) => {
        for (const title of ['Requests', 'Users', 'Limits', 'Models', 'Compliance']) {
          await open(page, title)
          await page.waitForLoadState('networkidle')
          await shoot(page, title.toLowerCase())
        }
        const checks = page.getByRole('table', { name: 'Checks' })
        await checks.waitFor()
        t.match(await checks.innerText(), /FAIL\s+Scheduled backups/, 'the rig has no backups: a failed check')
        if (has.pagedRequests) {
          await open(page, 'Requests')
          await page.getByRole('table', { name: 'Recent requests' }).waitFor()
          t.ok((await page.getByRole('table', { name: 'Recent requests' }).locator('tbody tr').count()) >= 6)
        } else t.comment('the recent requests list waits for the paged /admin/v1/usage/requests (scale helper)')
        await open(page, 'Audit')
        const audit = page.getByRole('table', { name: 'Audit log' })
        await audit.getByRole('cell', { name: 'audit.read', exact: true }).first().waitFor()
        await shoot(page, 'audit')
        t.pass('every page opened')
      })
      await context.close()
    })

    t.test('a user who is not an admin', async (t) => {
      const context = await browser.newContext({ colorScheme: 'dark', viewport: { width: 1280, height: 900 } })
      const page = await context.newPage()
      watch(page)
      await signIn(page, rig, 'bob', 'bob password 1')
      const navigation = page.getByRole('navigation', { name: 'Dashboard' })
      const links = await navigation.getByRole('link').allInnerTexts()
      t.same(links, ['Overview', 'Usage', 'Requests', 'Keys'], 'no Users, Limits or Models page')
      await page.goto(`${rig.url}/ui/#/users`)
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
      t.equal(await page.getByRole('heading', { level: 1, name: 'Users' }).count(), 0, 'the users page is not there')

      await open(page, 'Usage')
      t.equal(await page.getByLabel('User', { exact: true }).count(), 0, 'no field to ask for another user')
      const groups = await page.getByLabel('Group by').locator('option').allInnerTexts()
      t.notOk(groups.includes('User'), 'no grouping by user')
      const table = page.getByRole('table', { name: 'Usage by day' })
      await table.waitFor()
      t.equal(await table.locator('tbody tr td').nth(1).innerText(), '2', "bob's two requests, nobody else's")
      await shoot(page, 'usage-user-dark')
      await open(page, 'Keys')
      await page.getByRole('table', { name: 'Your keys' }).waitFor()
      await shoot(page, 'keys-user-dark')

      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByRole('heading', { name: 'Sign in to Parallama' }).waitFor()
      await context.close()
    })

    t.test('the login was refreshed as tokens expired, never refused', async (t) => {
      t.ok(refreshes.length > 0, `${refreshes.length} refreshes`)
      t.same(
        refreshes.filter((status) => status !== 200),
        [],
      )
    })

    t.test('no page broke a policy or threw', async (t) => {
      t.same(problems, [])
    })
  })
}
