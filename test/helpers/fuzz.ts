// Runs a fast-check property inside a tap test: a few thousand cases in `npm test`, many more under `npm run fuzz`
// (PARALLAMA_FUZZ_RUNS cases per property, scaled by the property's weight: slow properties that talk to a real
// gateway take a smaller share). Each run leaves a `fuzz NAME: N cases` comment, which the fuzz runner totals.
import fc from 'fast-check'
import type { Test } from 'tap'

/** The cases a property runs: `base` normally, PARALLAMA_FUZZ_RUNS × weight under `npm run fuzz`. */
export function runs(base: number, fuzzWeight = 1): number {
  const fuzz = Number(process.env.PARALLAMA_FUZZ_RUNS)
  return Number.isFinite(fuzz) && fuzz > 0 ? Math.max(base, Math.ceil(fuzz * fuzzWeight)) : base
}

/** Asserts a property (sync or async) with `runs(base, weight)` cases and reports the count. */
export async function holds<Ts>(
  t: Test,
  name: string,
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  base: number,
  fuzzWeight = 1,
): Promise<void> {
  const numRuns = runs(base, fuzzWeight)
  await fc.assert(property as fc.IAsyncProperty<Ts>, { numRuns })
  t.comment(`fuzz ${name}: ${numRuns} cases`)
  t.pass(name)
}
