// `node dist/bench/limiter.js`: what the limiter costs per request, in-process — admit (rpm + tpm + concurrency for
// one key, and a daily token quota) then release with the real count; and admitting a request whose limit refuses it.
import { benchPrincipal } from './benchPrincipal.js'
import { Limiter } from '../src/limits/limiter.js'
import { RuleSet } from '../src/limits/rules.js'

const principal = benchPrincipal

let clock = 0
const limiter = new Limiter(
  new RuleSet([
    {
      subjectType: 'key',
      subject: 'benchkey0001',
      gateway: '*',
      model: '',
      values: { rpm: 1e9, tpm: 1e12, concurrency: 1000, daily_tokens: 1e15 },
    },
    { subjectType: 'default', subject: '', gateway: '*', model: '', values: { rpm: 1 } },
  ]),
  () => 0,
  () => clock,
)
const refused: typeof principal = { ...principal, keyId: null, userId: 2 }

function measure(name: string, n: number, run: () => void): void {
  for (let i = 0; i < n / 10; i++) run()
  // CPU time, not wall time: the machines this runs on are shared, and waiting for a core is not the limiter's cost.
  const started = process.cpuUsage()
  for (let i = 0; i < n; i++) run()
  const used = process.cpuUsage(started)
  console.log(`${name}: ${((used.user + used.system) / n).toFixed(3)} µs CPU per call (${n} calls)`)
}

for (let round = 0; round < 3; round++) {
  measure('admit + release', 1_000_000, () => {
    clock += 1
    const admission = limiter.admit(principal, 'ollama', 'llama3.2:3b', 600)
    if (admission instanceof Error) throw admission
    admission.release(420)
  })
  measure('admit refused (rpm)', 300_000, () => {
    clock += 1
    limiter.admit(refused, 'ollama', null, undefined)
  })
}
