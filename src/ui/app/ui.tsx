// Small pieces every page uses: a titled section, an error note, a labelled field, a table.
import type { ComponentChildren, InputHTMLAttributes } from 'preact'
import type { ApiError } from './api.js'

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.actions}
      </header>
      {props.children}
    </section>
  )
}

/** A refusal as the gateway worded it, announced to screen readers. */
export function ErrorNote(props: { error: ApiError | undefined }) {
  if (!props.error) return null
  return (
    <p class="error" role="alert">
      {props.error.message} {props.error.code !== 'error' && <code>({props.error.code})</code>}
    </p>
  )
}

export function Loading(props: { when: boolean }) {
  return props.when ? (
    <p class="muted" role="status">
      Loading…
    </p>
  ) : null
}

export interface Column<T> {
  title: string
  value: (row: T) => ComponentChildren
  numeric?: boolean
}

/** `rows` undefined: nothing answered yet (or the call failed, which the page says): no table, no "empty". */
export function Table<T>(props: { caption: string; columns: Column<T>[]; rows: T[] | undefined; empty?: string }) {
  if (props.rows === undefined) return null
  if (props.rows.length === 0) return <p class="muted">{props.empty ?? 'Nothing to show.'}</p>
  return (
    <div class="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col" class={column.numeric ? 'num' : undefined}>
                {column.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              {props.columns.map((column) => (
                <td class={column.numeric ? 'num' : undefined}>{column.value(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** An input with its visible label: the label is the control's accessible name. */
export function Field(props: {
  label: string
  value: string
  onInput: (value: string) => void
  type?: 'text' | 'password' | 'email' | 'number'
  required?: boolean
  placeholder?: string
  autocomplete?: string
}) {
  // Preact types each input type apart (a password field takes no `list`); these fields share every attribute.
  const attributes = {
    type: props.type ?? 'text',
    value: props.value,
    required: props.required,
    placeholder: props.placeholder,
    autocomplete: props.autocomplete,
  } as InputHTMLAttributes<HTMLInputElement>
  return (
    <label class="field">
      <span>{props.label}</span>
      <input {...attributes} onInput={(event) => props.onInput((event.target as HTMLInputElement).value)} />
    </label>
  )
}

export function Select(props: {
  label: string
  value: string
  options: readonly (readonly [string, string])[]
  onChange: (value: string) => void
}) {
  return (
    <label class="field">
      <span>{props.label}</span>
      <select value={props.value} onChange={(event) => props.onChange((event.target as HTMLSelectElement).value)}>
        {props.options.map(([value, text]) => (
          <option value={value}>{text}</option>
        ))}
      </select>
    </label>
  )
}

/** Previous and next page buttons of a cursor list. */
export function Pager(props: { pageNumber: number; previous?: () => void; next?: () => void }) {
  if (!props.previous && !props.next) return null
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={!props.previous} onClick={props.previous}>
        Previous page
      </button>
      <span>Page {props.pageNumber}</span>
      <button type="button" disabled={!props.next} onClick={props.next}>
        Next page
      </button>
    </nav>
  )
}
