// Models (manage_models): which backend has which model installed and loaded, where they differ
// (GET /admin/v1/models); pull to one or every backend with a progress bar per backend read from the NDJSON stream;
// copy and delete; and the backends themselves, with drain and undrain (/admin/v1/backends).
import { useState } from 'preact/hooks'
import type { ApiError } from '../api.js'
import { bytes, count, when } from '../format.js'
import { applyPullLine, readNdjson, type BackendPull } from '../pull.js'
import { useSigned } from '../session.js'
import { ErrorNote, Field, Loading, Page, Pager, Select, Table } from '../ui.js'
import { asApiError, usePaged } from '../useResource.js'
import { ConfirmButton } from './Keys.js'

interface ModelOnBackend {
  backend: string
  installed: boolean
  loaded: boolean
  size: number | null
  digest: string | null
  modified_at: string | null
  size_vram?: number | null
}

interface ModelRow {
  model: string
  backends: ModelOnBackend[]
  differs: boolean
}

interface BackendView {
  name: string
  url: string
  state: string
  parallel: number
  in_flight: number
  queued: number
  models_loaded: string[]
  last_check: string | null
  last_error: string | null
}

export function Models() {
  const { session } = useSigned()
  const backends = usePaged<BackendView>('/admin/v1/backends')
  const models = usePaged<ModelRow>('/admin/v1/models')
  const names = (backends.items ?? []).map((backend) => backend.name)
  const [actionError, setActionError] = useState<ApiError | undefined>(undefined)
  const act = async (call: () => Promise<unknown>) => {
    setActionError(undefined)
    try {
      await call()
      models.reload()
      backends.reload()
    } catch (failure) {
      setActionError(asApiError(failure))
    }
  }
  const on = (row: ModelRow, backend: string) => row.backends.find((entry) => entry.backend === backend)
  return (
    <Page title="Models">
      <ErrorNote error={models.error ?? backends.error ?? actionError} />
      <Loading when={models.loading && !models.data} />
      <Table
        caption="Models on each backend"
        rows={models.items}
        empty="No model on any backend."
        columns={[
          {
            title: 'Model',
            value: (row) =>
              row.differs ? (
                <span>
                  {row.model} <span class="badge">differs</span>
                </span>
              ) : (
                row.model
              ),
          },
          ...names.map((name) => ({
            title: name,
            value: (row: ModelRow) => {
              const entry = on(row, name)
              if (!entry?.installed) return 'not installed'
              return `${bytes(entry.size)}${entry.loaded ? ', loaded' : ''}`
            },
          })),
          {
            title: 'Actions',
            value: (row) => (
              <ConfirmButton
                label={`Delete ${row.model} from every backend`}
                text="Delete"
                onConfirm={() =>
                  void act(() =>
                    session.fetch(`/admin/v1/models/${encodeURIComponent(row.model)}`, { method: 'DELETE' }),
                  )
                }
              />
            ),
          },
        ]}
      />
      <Pager pageNumber={models.pageNumber} previous={models.previous} next={models.next} />
      <Pull backends={names} onDone={models.reload} />
      <Copy
        backends={names}
        onCopy={(body) => act(() => session.json('/admin/v1/models/copy', { method: 'POST', body }))}
      />
      <Table
        caption="Backends"
        rows={backends.items}
        columns={[
          { title: 'Name', value: (backend) => backend.name },
          { title: 'URL', value: (backend) => backend.url },
          { title: 'State', value: (backend) => <span class={`state state-${backend.state}`}>{backend.state}</span> },
          {
            title: 'In flight',
            value: (backend) => `${count(backend.in_flight)} / ${count(backend.parallel)}`,
            numeric: true,
          },
          { title: 'Queued', value: (backend) => count(backend.queued), numeric: true },
          { title: 'Loaded', value: (backend) => backend.models_loaded.join(', ') || '–' },
          { title: 'Last check', value: (backend) => when(backend.last_check) },
          { title: 'Last error', value: (backend) => backend.last_error ?? '–' },
          {
            title: 'Actions',
            value: (backend) => {
              const action = backend.state === 'draining' ? 'undrain' : 'drain'
              return (
                <button
                  type="button"
                  aria-label={`${action === 'drain' ? 'Drain' : 'Undrain'} ${backend.name}`}
                  onClick={() =>
                    void act(() =>
                      session.json(`/admin/v1/backends/${encodeURIComponent(backend.name)}/${action}`, {
                        method: 'POST',
                      }),
                    )
                  }
                >
                  {action === 'drain' ? 'Drain' : 'Undrain'}
                </button>
              )
            },
          },
        ]}
      />
    </Page>
  )
}

function backendOptions(backends: string[]): [string, string][] {
  return [['', 'every backend'], ...backends.map((name): [string, string] => [name, name])]
}

/** Pulls a model and shows each backend's progress as the stream tells it. */
function Pull(props: { backends: string[]; onDone: () => void }) {
  const { session } = useSigned()
  const [model, setModel] = useState('')
  const [backend, setBackend] = useState('')
  const [progress, setProgress] = useState<Record<string, BackendPull>>({})
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [running, setRunning] = useState(false)
  const pull = async (event: Event) => {
    event.preventDefault()
    setError(undefined)
    setProgress({})
    setRunning(true)
    try {
      const response = await session.fetch('/admin/v1/models/pull', {
        method: 'POST',
        body: { model: model.trim(), backend: backend || undefined },
      })
      if (response.body) await readNdjson(response.body, (line) => setProgress((state) => applyPullLine(state, line)))
      props.onDone()
    } catch (failure) {
      setError(asApiError(failure))
    } finally {
      setRunning(false)
    }
  }
  return (
    <section aria-labelledby="pull-title">
      <h2 id="pull-title">Pull a model</h2>
      <form class="create" onSubmit={(event) => void pull(event)}>
        <Field label="Model to pull" value={model} onInput={setModel} required placeholder="llama3.2:3b" />
        <Select label="Pull to" value={backend} options={backendOptions(props.backends)} onChange={setBackend} />
        <button type="submit" disabled={running}>
          Pull model
        </button>
      </form>
      <ErrorNote error={error} />
      <ul class="progress-list">
        {Object.entries(progress).map(([name, state]) => (
          <li>
            <label>
              <span>
                {name}: {state.error ? `failed: ${state.error}` : state.status}
              </span>
              <progress
                aria-label={`Pull progress on ${name}`}
                max={state.total ?? 1}
                value={state.done && !state.error ? (state.total ?? 1) : (state.completed ?? 0)}
              />
            </label>
          </li>
        ))}
      </ul>
    </section>
  )
}

function Copy(props: { backends: string[]; onCopy: (body: Record<string, unknown>) => Promise<void> }) {
  const [fields, setFields] = useState({ source: '', destination: '', backend: '' })
  return (
    <section aria-labelledby="copy-title">
      <h2 id="copy-title">Copy a model</h2>
      <form
        class="create"
        onSubmit={(event) => {
          event.preventDefault()
          void props.onCopy({
            source: fields.source.trim(),
            destination: fields.destination.trim(),
            backend: fields.backend || undefined,
          })
        }}
      >
        <Field label="Source" value={fields.source} onInput={(source) => setFields({ ...fields, source })} required />
        <Field
          label="Destination"
          value={fields.destination}
          onInput={(destination) => setFields({ ...fields, destination })}
          required
        />
        <Select
          label="On"
          value={fields.backend}
          options={backendOptions(props.backends)}
          onChange={(backend) => setFields({ ...fields, backend })}
        />
        <button type="submit">Copy model</button>
      </form>
    </section>
  )
}
