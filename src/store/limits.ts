// The limits table: one rule per subject and gateway scope. Every change goes through the change feed, so a running
// server applies it within a second.
import type { Gateway, LimitKind, LimitRule, SubjectType } from '../limits/rules.js'
import { limitKinds } from '../limits/rules.js'
import { maxLimitValue } from '../limits/limitNumbers.js'
import { BoundsError } from './bounds.js'
import type { ChangeFeed } from './changeFeed.js'
import type { Statement } from 'better-sqlite3'
import type { Db } from './database.js'

export class LimitStore {
  private readonly statements

  constructor(
    private readonly db: Db,
    private readonly feed: ChangeFeed,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      all: db.prepare(`SELECT * FROM limits ORDER BY subject_type, subject, gateway, model`),
      one: db.prepare(`SELECT * FROM limits WHERE subject_type = ? AND subject = ? AND gateway = ? AND model = ?`),
      upsert:
        db.prepare(`INSERT INTO limits (subject_type, subject, gateway, model, ${limitKinds.join(', ')}, updated_at)
        VALUES (?, ?, ?, ?, ${limitKinds.map(() => '?').join(', ')}, ?)
        ON CONFLICT (subject_type, subject, gateway, model) DO UPDATE SET
        ${limitKinds.map((kind) => `${kind} = COALESCE(excluded.${kind}, ${kind})`).join(', ')},
        updated_at = excluded.updated_at`),
      replace:
        db.prepare(`INSERT INTO limits (subject_type, subject, gateway, model, ${limitKinds.join(', ')}, updated_at)
        VALUES (?, ?, ?, ?, ${limitKinds.map(() => '?').join(', ')}, ?)
        ON CONFLICT (subject_type, subject, gateway, model) DO UPDATE SET
        ${limitKinds.map((kind) => `${kind} = excluded.${kind}`).join(', ')}, updated_at = excluded.updated_at`),
      remove: db.prepare(`DELETE FROM limits WHERE subject_type = ? AND subject = ? AND gateway = ? AND model = ?`),
    }
  }

  all(): LimitRule[] {
    return this.statements.all.all().map(toRule)
  }

  get(subjectType: SubjectType, subject: string, gateway: Gateway, model = ''): LimitRule | undefined {
    const row = this.statements.one.get(subjectType, subject, gateway, model)
    return row ? toRule(row) : undefined
  }

  /** Sets the given limits of a rule (creating it), leaving its other limits as they were. */
  set(rule: LimitRule): LimitRule {
    return this.write(rule, this.statements.upsert)
  }

  /** Sets a rule to hold exactly the given limits (creating it): the kinds not given are cleared. */
  replace(rule: LimitRule): LimitRule {
    return this.write(rule, this.statements.replace)
  }

  private write(rule: LimitRule, statement: Statement<unknown[]>): LimitRule {
    checkLimitValues(rule.values)
    return this.db
      .transaction(() => {
        const at = this.now()
        statement.run(
          rule.subjectType,
          rule.subject,
          rule.gateway,
          rule.model,
          ...limitKinds.map((kind) => rule.values[kind] ?? null),
          at,
        )
        this.feed.record('limits_changed', at, {}, { action: 'set', ...ruleTarget(rule), values: rule.values })
        return this.get(rule.subjectType, rule.subject, rule.gateway, rule.model)!
      })
      .immediate()
  }

  remove(subjectType: SubjectType, subject: string, gateway: Gateway, model = ''): boolean {
    return this.db
      .transaction(() => {
        const removed = this.statements.remove.run(subjectType, subject, gateway, model).changes > 0
        const target = ruleTarget({ subjectType, subject, gateway, model })
        if (removed) this.feed.record('limits_changed', this.now(), {}, { action: 'removed', ...target })
        return removed
      })
      .immediate()
  }
}

function toRule(row: any): LimitRule {
  const values: Partial<Record<LimitKind, number>> = {}
  for (const kind of limitKinds) if (row[kind] !== null) values[kind] = row[kind]
  return { subjectType: row.subject_type, subject: row.subject, gateway: row.gateway, model: row.model, values }
}

/**
 * Every limit stored is a whole number from 1 to maxLimitValue (2^45, "no practical limit"): bounded before it is
 * stored, whoever sets it (the CLI, a future API), not left to SQLite (1e300 is a REAL it refuses with its own words)
 * or rounded on the way (9007199254740993 is not a number JavaScript holds).
 */
export function checkLimitValues(values: LimitRule['values']): void {
  for (const kind of limitKinds) {
    const value = values[kind]
    if (value === undefined || value === null) continue
    if (!Number.isSafeInteger(value) || value < 1 || value > maxLimitValue) {
      throw new BoundsError(`"${kind}" must be a whole number from 1 to ${maxLimitValue}, got ${String(value)}`)
    }
  }
}

/** A rule's target as the limit.changed event names it. */
function ruleTarget(rule: Pick<LimitRule, 'subjectType' | 'subject' | 'gateway' | 'model'>) {
  return { subject_type: rule.subjectType, subject: rule.subject, gateway: rule.gateway, model: rule.model }
}
