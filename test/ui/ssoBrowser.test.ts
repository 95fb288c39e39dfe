// Single sign-on from the dashboard in a real browser (Debian's Chromium through playwright-core) against a real
// OpenID provider: the "Sign in with SSO" button, the provider's login form, back to the dashboard signed in with the
// role of the user's groups and no code left in the address; signing out ends the provider's session too.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { startSsoRig } from '../helpers/ssoRig.js'

const browserPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

if (!existsSync(browserPath) && !process.env.CI) {
  t.plan(0, `no Chromium at ${browserPath} (apt-get install chromium; .ci/run does)`)
} else {
  t.test('sign in with SSO and out again, in Chromium', async (t) => {
    const { provider, url } = await startSsoRig(t)
    provider.accounts.set('grace', { email: 'grace@example.com', name: 'Grace', groups: ['llm-admins'] })
    const browser: Browser = await chromium.launch({
      executablePath: browserPath,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    t.teardown(() => browser.close())
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error' && message.text().includes('Content Security Policy'))
        problems.push(message.text())
    })

    await page.goto(`${url}/ui/`)
    await page.getByRole('link', { name: 'Sign in with SSO' }).click()
    await page.waitForURL((address) => address.origin === provider.issuer)
    await page.locator('input[name="login"]').fill('grace')
    await page.locator('input[name="password"]').fill('any password')
    await page.getByRole('button', { name: 'Sign-in' }).click()
    await page.getByRole('navigation', { name: 'Dashboard' }).waitFor()
    t.match(await page.locator('.who').textContent(), /grace \(admin\)/)
    t.notMatch(page.url(), /sso_code/, 'the code is gone from the address')
    t.notMatch(await page.evaluate('location.hash'), /sso_/, 'nor in the fragment')

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(
      (address) => address.origin === provider.issuer && address.pathname.startsWith('/session/end'),
    )
    t.pass("signing out went on to the provider's end_session_endpoint")
    t.same(problems, [], 'no script error or CSP violation')
  })
}
