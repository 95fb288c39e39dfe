// How numbers and times read on the pages.
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : integer.format(value)
}

export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${integer.format(value)} ms`
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let size = value
  let unit = 0
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024
    unit++
  }
  return `${size.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}

/** An ISO time as the browser's local date and time; none shows a dash. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '–'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

/** Seconds since the epoch, for uPlot's time axis. */
export function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000
}
