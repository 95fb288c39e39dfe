// The compliance report (GET /admin/v1/compliance): each check with its status and what to do, then how each person
// signs in. The same report as `parallama report compliance`; it reads only.
import { when } from '../format.js'
import { ErrorNote, Loading, Page, Table } from '../ui.js'
import { useResource } from '../useResource.js'

interface Check {
  id: string
  title: string
  status: 'pass' | 'warn' | 'fail'
  detail: string
  action: string | null
  items: string[]
}

interface UserSignIn {
  username: string
  role: string
  active: boolean
  password: boolean
  sso: boolean
  keys: number
  last_login: string | null
}

interface Report {
  generated: string
  summary: { pass: number; warn: number; fail: number }
  checks: Check[]
  users: UserSignIn[]
}

const yes = (value: boolean) => (value ? 'yes' : 'no')

export function Compliance() {
  const report = useResource<Report>('/admin/v1/compliance')
  const data = report.data
  return (
    <Page
      title="Compliance"
      actions={
        <button type="button" onClick={report.reload}>
          Check again
        </button>
      }
    >
      <ErrorNote error={report.error} />
      <Loading when={report.loading && !data} />
      {data && (
        <p>
          {data.summary.pass} pass, {data.summary.warn} warn, {data.summary.fail} fail — checked {when(data.generated)}.
        </p>
      )}
      <Table
        caption="Checks"
        rows={data?.checks}
        columns={[
          {
            title: 'Status',
            value: (check) => <span class={`check-${check.status}`}>{check.status.toUpperCase()}</span>,
          },
          { title: 'Check', value: (check) => check.title },
          {
            title: 'Finding',
            value: (check) => (
              <>
                {check.detail}
                {check.status !== 'pass' && check.items.length > 0 && (
                  <ul class="findings">
                    {check.items.map((item) => (
                      <li>{item}</li>
                    ))}
                  </ul>
                )}
              </>
            ),
          },
          { title: 'What to do', value: (check) => check.action ?? '–' },
        ]}
      />
      <Table
        caption="How people sign in"
        rows={data?.users}
        columns={[
          { title: 'User', value: (user) => user.username },
          { title: 'Role', value: (user) => user.role },
          { title: 'Active', value: (user) => yes(user.active) },
          { title: 'Password', value: (user) => yes(user.password) },
          { title: 'SSO', value: (user) => yes(user.sso) },
          { title: 'Live keys', value: (user) => String(user.keys), numeric: true },
          { title: 'Last login', value: (user) => (user.last_login ? when(user.last_login) : 'never') },
        ]}
      />
    </Page>
  )
}
