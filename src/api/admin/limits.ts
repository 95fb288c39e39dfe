// /admin/v1/limits: list, get, set (PUT), remove (DELETE), reset a subject, explain (manage_limits). A subject is a
// type and a name in the path (`key/ID`, `user/NAME`, `role/user`, `ip/10.0.0.0%2F8`, `default/-`); the scope of a rule
// (`gateway`, `model`) is in the query. The rules are the service's (src/admin/limits.ts), shared with `parallama limit`.
import {
  callerOf,
  checkValues,
  explainLimits,
  getRule,
  listRules,
  modelScope,
  removeRule,
  resetSubject,
  ruleVersion,
  ruleView,
  scopeOf,
  setRule,
  subjectOf,
  subjectTypes,
  type Subject,
} from '../../admin/limits.js'
import { GatewayError } from '../../errors.js'
import type { LimitRule } from '../../limits/rules.js'
import type { Store } from '../../store/store.js'
import type { AdminRoutesContext } from '../admin.js'
import type { JsonCall, JsonHandler } from '../jsonRoute.js'
import { byKey, pageOf, pageRequest } from '../pagination.js'
import { ifMatch, withEtag } from '../preconditions.js'
import { oneOf, onlyFields, queryFields, stringOf } from './bodyFields.js'

export function limitsHandlers({ store }: AdminRoutesContext): Record<string, JsonHandler> {
  const shown = (rule: LimitRule) => withEtag(200, ruleView(rule, store), ruleVersion(rule))
  return {
    limits_list: ({ request }) => {
      const query = queryFields(request.query)
      onlyFields(query, ['limit', 'cursor', 'subject_type'])
      const paging = pageRequest(new URLSearchParams(request.query), 'limits')
      if (paging instanceof GatewayError) return paging
      const type = oneOf(query, 'subject_type', subjectTypes)
      const rules = listRules(store)
        .filter((rule) => type === undefined || rule.subjectType === type)
        .sort(byKey(ruleKey))
      return { status: 200, body: pageOf(rules, paging, 'limits', ruleKey, (rule) => ruleView(rule, store)) }
    },
    limit_get: (call) => {
      const { subject, scope } = ruleOf(store, call)
      return shown(getRule(store, subject, scope))
    },
    limit_put: (call) => {
      const { subject, scope } = ruleOf(store, call)
      const values = checkValues(subject, call.body)
      return shown(setRule(store, call.trail, subject, scope, values, 'replace', ifMatch(call.header('if-match'))))
    },
    limit_delete: (call) => {
      const { subject, scope } = ruleOf(store, call)
      const removed = removeRule(store, call.trail, subject, scope, ifMatch(call.header('if-match')))
      return { status: 200, body: { removed: ruleView(removed, store) } }
    },
    limit_reset: ({ params, trail }) => {
      const removed = resetSubject(store, trail, namedSubject(store, params))
      return { status: 200, body: { removed: removed.map((rule) => ruleView(rule, store)) } }
    },
    limits_explain: ({ request }) => {
      const query = queryFields(request.query)
      onlyFields(query, ['key', 'user', 'api', 'model'])
      const key = stringOf(query, 'key')
      const user = stringOf(query, 'user')
      if ((key === undefined) === (user === undefined)) {
        return new GatewayError('invalid_request', 'name one of "key" or "user"')
      }
      const api = oneOf(query, 'api', ['ollama', 'openai'] as const) ?? 'ollama'
      const model = stringOf(query, 'model')
      const caller = callerOf(store, key !== undefined ? { key } : { user: user! })
      const limits = explainLimits(store, caller, api, model === undefined ? null : modelScope(model)).map(
        (applied) => ({
          limit: applied.limit,
          value: applied.value,
          from: ruleView(applied.rule, store),
        }),
      )
      return { status: 200, body: { limits } }
    },
  }
}

/** Unique per rule, and stable while the rule lives: its subject as stored and its scope. */
function ruleKey(rule: LimitRule): string {
  return [rule.subjectType, rule.subject, rule.gateway, rule.model].join('\u0000')
}

/** The subject of the path; the default's name is `-`. */
function namedSubject(store: Store, params: string[]): Subject {
  const [type, name] = params as [string, string]
  if (type === 'default' && name !== '-') {
    throw new GatewayError('invalid_request', 'the default subject takes the name "-": /limits/default/-')
  }
  return subjectOf(store, type, name)
}

/** The subject of the path and the scope of the query (`gateway`, `model`). */
function ruleOf(store: Store, { params, request }: JsonCall) {
  const query = queryFields(request.query)
  onlyFields(query, ['gateway', 'model'])
  const subject = namedSubject(store, params)
  return { subject, scope: scopeOf(subject, stringOf(query, 'gateway'), stringOf(query, 'model')) }
}
