// The limit kinds, on their own without imports, so that the dashboard's bundle takes the same list (rules.ts needs
// node:net and cannot be bundled for the browser).
export const limitKinds = [
  'rpm',
  'rph',
  'rpd',
  'tpm',
  'tph',
  'tpd',
  'concurrency',
  'daily_tokens',
  'monthly_tokens',
  'daily_requests',
  'monthly_requests',
] as const
export type LimitKind = (typeof limitKinds)[number]
