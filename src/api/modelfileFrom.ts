// The models a Modelfile's FROM commands name. Ollama before 0.5.5 took a `modelfile` text on /api/create and parsed
// it (parser/parser.go); later versions ignore the field. A gateway may front either, so every FROM is checked like
// `from`. Read as that parser reads it: a command starts a line (after spaces or tabs), its name is case-insensitive,
// and a value in "..." or """...""" may span lines (a FROM inside another command's quoted value is not a command).
import { GatewayError } from '../errors.js'

/** The FROM values of a Modelfile, unquoted; or the 400 when a FROM cannot be read unambiguously. */
export function modelfileFroms(text: string): string[] | GatewayError {
  const froms: string[] = []
  let open: { command: string; value: string } | undefined
  const lines = text.split(/\r|\n/)
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!
    if (open) {
      open.value += `\n${line}`
      if (unquote(open.value.trim()) === undefined) continue
      if (open.command === 'from') froms.push(unquote(open.value.trim())!)
      open = undefined
      continue
    }
    const command = /^[\s\uFEFF]*([A-Za-z]+)[ \t]+(.*)$/.exec(line)
    if (!command) continue
    const name = command[1]!.toLowerCase()
    // PARAMETER and MESSAGE take a word before their value.
    const value = name === 'parameter' || name === 'message' ? command[2]!.replace(/^\S+[ \t]*/, '') : command[2]!
    const unquoted = unquote(value.trim())
    if (unquoted === undefined) open = { command: name, value }
    else if (name === 'from') froms.push(unquoted)
  }
  if (open?.command === 'from') {
    return new GatewayError('invalid_request', '"modelfile": a FROM value opens a quote that never closes')
  }
  return froms
}

/** A value without its quotes ("x" or """x"""), itself when unquoted, undefined while a quote is still open. */
function unquote(value: string): string | undefined {
  if (value.startsWith('"""')) return value.length >= 6 && value.endsWith('"""') ? value.slice(3, -3) : undefined
  if (value.startsWith('"')) return value.length >= 2 && value.endsWith('"') ? value.slice(1, -1) : undefined
  return value
}
