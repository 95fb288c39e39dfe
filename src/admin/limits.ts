// Limit rules, as the CLI (`parallama limit ...`) and the admin API (/admin/v1/limits) manage them: naming a subject
// (a key, user, role, the default, an address range), the scope of a rule (one API or both, one model or every
// one), the views, and what applies to a caller (explain). The store records each change in the change feed, which a
// running server applies within a second and turns into a limit.changed event.
import { checkModelPattern, normalizeModel } from '../auth/modelAllowList.js'
import { isRole } from '../auth/permissions.js'
import { GatewayError } from '../errors.js'
import {
  addressKinds,
  limitKinds,
  parseRange,
  RuleSet,
  type Gateway,
  type LimitKind,
  type LimitRule,
  type SubjectType,
} from '../limits/rules.js'
import type { Store } from '../store/store.js'
import { auditedChange, type AuditTrail } from './auditTrail.js'
import { getKey } from './keys.js'
import { getUser } from './users.js'
import { expectVersion, versionOf, type Expected } from './version.js'

export const subjectTypes: readonly SubjectType[] = ['key', 'user', 'role', 'default', 'ip']
export const gateways: readonly Gateway[] = ['ollama', 'openai', '*']

/** A subject as the table stores it (a user by id), and how messages name it. */
export interface Subject {
  type: SubjectType
  subject: string
  shown: string
  /** How the caller named it (a username, not the stored id): the audit target's name. */
  name: string
}

/** One rule's place: the subject's limits on one API (or both) for one model (or every one: ''). */
export interface Scope {
  gateway: Gateway
  model: string
}

/**
 * The subject a type and name mean: a key id, a username, a role, an address range (CIDR); the default takes no name.
 * A key or user that does not exist is a 404; a bad role or range a 400.
 */
export function subjectOf(store: Store, type: string, name: string): Subject {
  switch (type) {
    case 'key':
      return { type, subject: getKey(store, name).id, shown: `key ${name}`, name }
    case 'user':
      return { type, subject: String(getUser(store, name).id), shown: `user ${name}`, name }
    case 'role':
      if (!isRole(name)) throw new GatewayError('invalid_request', `no role "${name}" (admin, user, readonly)`)
      return { type, subject: name, shown: `role ${name}`, name }
    case 'ip':
      if (!parseRange(name)) {
        throw new GatewayError('invalid_request', `expected an address range such as 10.0.0.0/8, got "${name}"`)
      }
      return { type, subject: name, shown: `addresses ${name}`, name }
    case 'default':
      return { type, subject: '', shown: 'default', name: '' }
    default:
      throw new GatewayError('invalid_request', `no limit subject "${type}" (${subjectTypes.join(', ')})`)
  }
}

/** The model a rule is for, in the normal form requests are matched in; a pattern (family:*) is not one model. */
export function modelScope(model: string): string {
  const problem = checkModelPattern(model)
  if (problem || model.trim().endsWith(':*')) {
    throw new GatewayError('invalid_request', `expected one model such as llama3.2:3b, got "${model}"`)
  }
  return normalizeModel(model)
}

/** The scope named by an API (default both) and a model (default every model); address rules take every model. */
export function scopeOf(subject: Subject, gateway = '*', model = ''): Scope {
  if (!(gateways as readonly string[]).includes(gateway)) {
    throw new GatewayError('invalid_request', `"gateway" must be one of ${gateways.join(', ')}, got "${gateway}"`)
  }
  if (model !== '' && subject.type === 'ip') {
    throw new GatewayError('invalid_request', 'address rules apply to every model: name no model')
  }
  return { gateway: gateway as Gateway, model: model === '' ? '' : modelScope(model) }
}

/** Limit values as given: each a known kind, a whole number of at least 1; an address rule counts requests only. */
export function checkValues(subject: Subject, values: Record<string, unknown>): Partial<Record<LimitKind, number>> {
  const checked: Partial<Record<LimitKind, number>> = {}
  for (const [kind, value] of Object.entries(values)) {
    if (!(limitKinds as readonly string[]).includes(kind)) {
      throw new GatewayError('invalid_request', `no limit "${kind}" (${limitKinds.join(', ')})`)
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new GatewayError('invalid_request', `"${kind}" must be a whole number of at least 1`)
    }
    if (subject.type === 'ip' && !addressKinds.includes(kind as LimitKind)) {
      throw new GatewayError('invalid_request', `address rules take ${addressKinds.join(', ')} only, not ${kind}`)
    }
    checked[kind as LimitKind] = value
  }
  return checked
}

/** Who a stored rule is for, by name: a user's name (or #id once deleted), else the subject as stored. */
export function subjectName(rule: LimitRule, store: Store): string {
  if (rule.subjectType === 'user') return store.users.byId(Number(rule.subject))?.username ?? `#${rule.subject}`
  return rule.subjectType === 'default' ? '-' : rule.subject
}

/** A rule as the API shows it. */
export function ruleView(rule: LimitRule, store: Store) {
  return {
    subject_type: rule.subjectType,
    subject: subjectName(rule, store),
    gateway: rule.gateway,
    model: rule.model === '' ? null : rule.model,
    limits: rule.values,
  }
}

export function ruleVersion(rule: LimitRule): string {
  return versionOf(rule.subjectType, rule.subject, rule.gateway, rule.model, rule.values)
}

/** The audit target of a subject's rules: limit:user/alice, limit:default. */
function limitTarget(subject: Subject): string {
  return subject.type === 'default' ? 'limit:default' : `limit:${subject.type}/${subject.name}`
}

/** What the audit log keeps of a rule: its scope and values. */
function ruleAuditFields(rule: LimitRule) {
  return { gateway: rule.gateway, model: rule.model === '' ? null : rule.model, limits: rule.values }
}

export function listRules(store: Store): LimitRule[] {
  return store.limits.all()
}

function scopeText(subject: Subject, scope: Scope): string {
  return `${subject.shown} (${scope.model === '' ? scope.gateway : `${scope.gateway}, model ${scope.model}`})`
}

export function getRule(store: Store, subject: Subject, scope: Scope): LimitRule {
  const rule = store.limits.get(subject.type, subject.subject, scope.gateway, scope.model)
  if (!rule) throw new GatewayError('limit_not_found', `no limits set for ${scopeText(subject, scope)}`)
  return rule
}

/**
 * Sets limits of a rule, creating it. `merge`: the kinds given change, the others stay (the CLI's `limit set`);
 * `replace`: the rule holds exactly the kinds given (PUT). The version is checked when the rule exists.
 */
export function setRule(
  store: Store,
  trail: AuditTrail,
  subject: Subject,
  scope: Scope,
  values: Partial<Record<LimitKind, number>>,
  mode: 'merge' | 'replace',
  expected?: Expected,
): LimitRule {
  if (Object.keys(values).length === 0) {
    throw new GatewayError('invalid_request', `set at least one of ${limitKinds.join(', ')}`)
  }
  return auditedChange(store, trail, 'limit.set', limitTarget(subject), () => {
    const current = store.limits.get(subject.type, subject.subject, scope.gateway, scope.model)
    if (current) expectVersion(expected, ruleVersion(current), `the limits of ${scopeText(subject, scope)}`)
    else if (expected) expectVersion(() => false, '', `the limits of ${scopeText(subject, scope)}`)
    const rule = { subjectType: subject.type, subject: subject.subject, ...scope, values }
    const set = mode === 'replace' ? store.limits.replace(rule) : store.limits.set(rule)
    return { value: set, before: current ? ruleAuditFields(current) : null, after: ruleAuditFields(set) }
  })
}

/** Removes one rule: less specific rules apply in its place. */
export function removeRule(
  store: Store,
  trail: AuditTrail,
  subject: Subject,
  scope: Scope,
  expected?: Expected,
): LimitRule {
  return auditedChange(store, trail, 'limit.remove', limitTarget(subject), () => {
    const rule = getRule(store, subject, scope)
    expectVersion(expected, ruleVersion(rule), `the limits of ${scopeText(subject, scope)}`)
    store.limits.remove(subject.type, subject.subject, scope.gateway, scope.model)
    return { value: rule, before: ruleAuditFields(rule) }
  })
}

/** Removes every rule of the subject, on every API and model; returns them (none: a 404). */
export function resetSubject(store: Store, trail: AuditTrail, subject: Subject): LimitRule[] {
  return auditedChange(store, trail, 'limit.reset', limitTarget(subject), () => {
    const rules = store.limits
      .all()
      .filter((rule) => rule.subjectType === subject.type && rule.subject === subject.subject)
    if (rules.length === 0) throw new GatewayError('limit_not_found', `no limits set for ${subject.shown}`)
    for (const rule of rules) store.limits.remove(rule.subjectType, rule.subject, rule.gateway, rule.model)
    return { value: rules, before: { rules: rules.map(ruleAuditFields) } }
  })
}

/** A caller to explain: a key (with its user and role), or a user on a login session. */
export function callerOf(store: Store, who: { key: string } | { user: string }) {
  if ('key' in who) {
    const key = getKey(store, who.key)
    return { keyId: key.id, userId: key.userId, role: store.users.byId(key.userId)!.role }
  }
  const user = getUser(store, who.user)
  return { keyId: null, userId: user.id, role: user.role }
}

/** The limits that apply to the caller's requests to `api` (for `model`), each with the rule it comes from. */
export function explainLimits(
  store: Store,
  caller: ReturnType<typeof callerOf>,
  api: string,
  model: string | null,
): { limit: LimitKind; value: number; rule: LimitRule }[] {
  return new RuleSet(store.limits.all())
    .resolve(caller, api, model)
    .map((limit) => ({ limit: limit.kind, value: limit.value, rule: limit.rule }))
}
