// `parallama limit set|get|list|reset|explain`: rate limits by key, user, role or default, for one API or both ('*').
// A running server applies changes within a second (change feed).
import type { Argv, CommandModule } from 'yargs'
import {
  callerOf,
  checkValues,
  explainLimits,
  getRule,
  listRules,
  modelScope,
  removeRule,
  setRule,
  subjectName,
  subjectOf as serviceSubject,
  type Subject,
} from '../src/admin/limits.js'
import {
  addressKinds,
  isQuota,
  limitKinds,
  quotaOf,
  type Gateway,
  type LimitKind,
  type LimitRule,
} from '../src/limits/rules.js'
import type { Store } from '../src/store/store.js'
import { CliError, guard, optionCheck, printJson, printTable } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

const subjectOptions = {
  key: { type: 'string', describe: 'an API key id' },
  user: { type: 'string', describe: 'a username (its keys share the limit)' },
  role: { type: 'string', describe: 'a role: each of its users gets this limit' },
  default: { type: 'boolean', describe: 'the default: each user gets this limit' },
  ip: {
    type: 'string',
    describe: 'client addresses (CIDR: 10.0.0.0/8, ::1/128): each address gets this limit (rpm, rph, rpd, concurrency)',
  },
  gateway: {
    choices: ['ollama', 'openai', '*'] as const,
    default: '*' as Gateway,
    describe: "which API; '*' = both together",
  },
  model: {
    type: 'string',
    describe: 'one model (llama3.2:3b): limits on its requests only, on top of the limits for every model',
  },
} as const

/** daily_tokens -> --daily-tokens. */
const optionName = (kind: LimitKind) => kind.replace('_', '-')

const kindOptions = Object.fromEntries(
  limitKinds.map((kind) => [optionName(kind), { type: 'number', describe: kindHelp(kind) }]),
) as Record<string, { type: 'number'; describe: string }>

function kindHelp(kind: LimitKind): string {
  if (kind === 'concurrency') return 'requests in flight at once'
  if (isQuota(kind)) {
    const { counts, period } = quotaOf(kind)
    return `quota: ${counts} per calendar ${period} (UTC)`
  }
  const unit = kind.startsWith('r') ? 'requests' : 'tokens'
  const per = { m: 'minute', h: 'hour', d: 'day' }[kind.slice(-1) as 'm' | 'h' | 'd']
  return `${unit} per ${per}`
}

type SubjectArgs = StoreArgs & {
  key?: string
  user?: string
  role?: string
  default?: boolean
  ip?: string
  gateway: Gateway
  model?: string
}

/** The model a rule is for, in the normal form requests are matched in; '' for every model. */
function modelOf(args: { model?: string; ip?: string }): string {
  if (args.model === undefined) return ''
  if (args.ip !== undefined) throw new CliError('--ip rules apply to every model; leave out --model', 2)
  return optionCheck('model', () => modelScope(args.model!))
}

/** The one subject the options name, resolved to how the table stores it. */
function subjectOf(args: SubjectArgs, store: Store): Subject {
  const given = [args.key, args.user, args.role, args.default ? '' : undefined, args.ip].filter((v) => v !== undefined)
  if (given.length !== 1) throw new CliError('name exactly one of --key, --user, --role, --default or --ip', 2)
  if (args.ip !== undefined) return optionCheck('ip', () => serviceSubject(store, 'ip', args.ip!))
  if (args.key !== undefined) return serviceSubject(store, 'key', args.key)
  if (args.user !== undefined) return serviceSubject(store, 'user', args.user)
  if (args.role !== undefined) return optionCheck('role', () => serviceSubject(store, 'role', args.role!))
  return serviceSubject(store, 'default', '')
}

/** A rule as the CLI prints it: `user alice`, `*` for every model, its limits beside. */
function view(rule: LimitRule, store: Store) {
  return {
    subject: rule.subjectType === 'default' ? 'default' : `${rule.subjectType} ${subjectName(rule, store)}`,
    gateway: rule.gateway,
    model: rule.model === '' ? '*' : rule.model,
    ...rule.values,
  }
}

function set(args: SubjectArgs & Record<string, unknown>) {
  const values: Partial<Record<LimitKind, number>> = {}
  for (const kind of limitKinds) {
    const value = args[optionName(kind)] as number | undefined
    if (value === undefined) continue
    if (!Number.isInteger(value) || value < 1) {
      throw new CliError(`--${optionName(kind)}: expected a whole number of at least 1, got ${value}`, 2)
    }
    values[kind] = value
  }
  if (Object.keys(values).length === 0) {
    throw new CliError(`set at least one of ${limitKinds.map((kind) => `--${optionName(kind)}`).join(', ')}`, 2)
  }
  const notForAddresses = Object.keys(values).filter((kind) => !addressKinds.includes(kind as LimitKind))
  if (args.ip !== undefined && notForAddresses.length > 0) {
    throw new CliError(
      `--ip rules take --rpm, --rph, --rpd and --concurrency only (not ${notForAddresses.join(', ')})`,
      2,
    )
  }
  const model = modelOf(args)
  const shown = withStore(args, (store, _config, trail) => {
    const subject = subjectOf(args, store)
    return view(
      setRule(store, trail, subject, { gateway: args.gateway, model }, checkValues(subject, values), 'merge'),
      store,
    )
  })
  if (args.json) return printJson(shown)
  process.stdout.write(`limits of ${shown.subject} (${scopeOf(shown)}): ${describeValues(shown)}\n`)
}

/** `ollama`, or `*, model llama3.2:3b`. */
function scopeOf(rule: { gateway: string; model: string }): string {
  return rule.model === '*' || rule.model === '' ? rule.gateway : `${rule.gateway}, model ${rule.model}`
}

function describeValues(values: Partial<Record<LimitKind, number>>): string {
  return (
    limitKinds
      .filter((kind) => values[kind] !== undefined)
      .map((kind) => `${kind}=${values[kind]}`)
      .join(' ') || 'none'
  )
}

function get(args: SubjectArgs) {
  const shown = withStore(args, (store) => {
    const subject = subjectOf(args, store)
    return view(getRule(store, subject, { gateway: args.gateway, model: modelOf(args) }), store)
  })
  if (args.json) return printJson(shown)
  process.stdout.write(`${shown.subject} (${scopeOf(shown)}): ${describeValues(shown)}\n`)
}

function list(args: StoreArgs) {
  const rows = withStore(args, (store) => listRules(store).map((rule) => view(rule, store)))
  if (args.json) return printJson(rows)
  printTable(rows, ['subject', 'gateway', 'model', ...limitKinds])
}

function reset(args: SubjectArgs) {
  const model = modelOf(args)
  const scope = scopeOf({ gateway: args.gateway, model })
  const removed = withStore(args, (store, _config, trail) => {
    const subject = subjectOf(args, store)
    removeRule(store, trail, subject, { gateway: args.gateway, model })
    return subject.shown
  })
  if (args.json) return printJson({ removed, gateway: args.gateway, model: model || '*' })
  process.stdout.write(`removed the limits of ${removed} (${scope}); less specific rules apply now\n`)
}

function explain(args: StoreArgs & { key?: string; user?: string; api: string; model?: string }) {
  const model = modelOf(args)
  const rows = withStore(args, (store) => {
    if ((args.key === undefined) === (args.user === undefined)) throw new CliError('name one of --key or --user', 2)
    const caller = callerOf(store, args.key !== undefined ? { key: args.key } : { user: args.user! })
    return explainLimits(store, caller, args.api, model || null).map((limit) => ({
      limit: limit.limit,
      value: limit.value,
      from: view(limit.rule, store).subject,
      gateway: limit.rule.gateway,
      model: limit.rule.model || '*',
    }))
  })
  if (args.json) return printJson(rows)
  if (rows.length === 0) process.stdout.write('no limits apply\n')
  else printTable(rows, ['limit', 'value', 'from', 'gateway', 'model'])
}

export const limitCommand: CommandModule = {
  command: 'limit <command>',
  describe: 'rate limits by key, user, role or default',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'set',
        'set limits (others of the same rule stay)',
        (y) => y.options({ ...storeOptions, ...subjectOptions, ...kindOptions }),
        guard(set),
      )
      .command('get', "show one subject's limits", (y) => y.options({ ...storeOptions, ...subjectOptions }), guard(get))
      .command('list', 'list every rule', (y) => y.options(storeOptions), guard(list))
      .command(
        'reset',
        "remove one subject's limits",
        (y) => y.options({ ...storeOptions, ...subjectOptions }),
        guard(reset),
      )
      .command(
        'explain',
        'which limits apply to a key or user, and where each comes from',
        (y) =>
          y.options({
            ...storeOptions,
            key: subjectOptions.key,
            user: subjectOptions.user,
            api: { choices: ['ollama', 'openai'] as const, default: 'ollama', describe: 'for requests to this API' },
            model: { type: 'string', describe: 'for requests for this model (its own limits apply too)' },
          }),
        guard(explain),
      )
      .demandCommand(1, 'name a limit command: set, get, list, reset or explain'),
  handler: () => {},
}
