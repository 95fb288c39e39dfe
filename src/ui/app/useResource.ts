// One API call per view: fetched when the path changes, again on reload(); a stale answer never replaces a newer one.
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError } from './api.js'
import { useSigned } from './session.js'

export interface Resource<T> {
  data?: T
  error?: ApiError
  loading: boolean
  reload: () => void
}

export function useResource<T>(path: string | undefined): Resource<T> {
  const { session } = useSigned()
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: path !== undefined })
  const [round, setRound] = useState(0)
  useEffect(() => {
    if (path === undefined) return
    const controller = new AbortController()
    setState((old) => ({ ...old, loading: true }))
    session
      .json<T>(path, { signal: controller.signal })
      .then((data) => setState({ data, loading: false }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return
        setState({ error: asApiError(error), loading: false })
      })
    return () => controller.abort()
  }, [path, round, session])
  const reload = useCallback(() => setRound((value) => value + 1), [])
  return { ...state, reload }
}

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  return new ApiError(0, 'network', error instanceof Error ? error.message : String(error))
}

export interface Paged<T> {
  items: T[]
  next_cursor: string | null
}

/** A cursor-paginated list (CONTRACT.md: `items`, `next_cursor`): pages one by one, forward and back. */
export function usePaged<T>(path: string) {
  const [cursors, setCursors] = useState<string[]>([])
  // A new question starts at its first page.
  useEffect(() => setCursors([]), [path])
  const cursor = cursors[cursors.length - 1]
  const joiner = path.includes('?') ? '&' : '?'
  const page = useResource<Paged<T>>(
    cursor === undefined ? path : `${path}${joiner}cursor=${encodeURIComponent(cursor)}`,
  )
  const next = page.data?.next_cursor ?? null
  return {
    ...page,
    /** undefined until a page has arrived. */
    items: page.data?.items,
    pageNumber: cursors.length + 1,
    next: next === null ? undefined : () => setCursors([...cursors, next]),
    previous: cursors.length === 0 ? undefined : () => setCursors(cursors.slice(0, -1)),
  }
}
