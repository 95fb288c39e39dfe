// CSV cells as RFC 4180 writes them, made safe for spreadsheets (OWASP, "CSV injection"): a text cell that starts
// with = + - @ or a tab, carriage return or line feed would be run as a formula by Excel or LibreOffice, so it gets a
// leading apostrophe, which spreadsheets show as text and do not evaluate. Numbers stay numbers.

/** Characters that make a spreadsheet read a cell as a formula when they come first. */
const formulaStart = /^[=+\-@\t\r\n]/

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  let text = typeof value === 'string' ? value : JSON.stringify(value)
  if (formulaStart.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
