// `node dist/bench/profileSummary.js FILE.cpuprofile [N]`: the functions and files where a V8 CPU profile spent its
// samples (self time), to find per-request work worth removing.
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount: number
}

const [file, limitText] = process.argv.slice(2)
if (!file) {
  process.stderr.write('usage: node dist/bench/profileSummary.js FILE.cpuprofile [rows]\n')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] }
const limit = Number(limitText ?? 30)
const total = profile.nodes.reduce((sum, node) => sum + node.hitCount, 0)
const byFunction = new Map<string, number>()
const byFile = new Map<string, number>()
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame
  const place = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '') || '(native)'
  const name = `${functionName || '(anonymous)'} ${place}:${lineNumber + 1}`
  byFunction.set(name, (byFunction.get(name) ?? 0) + node.hitCount)
  byFile.set(place, (byFile.get(place) ?? 0) + node.hitCount)
}
const show = (title: string, entries: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`)
  for (const [name, hits] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(6)}%  ${name}\n`)
  }
}
show('self time by function', byFunction)
show('self time by file', byFile)
