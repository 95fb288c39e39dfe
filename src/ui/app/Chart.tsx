// A time-series chart (uPlot, canvas): one x axis of epoch seconds, one or more series. The numbers are also in a
// table on every page that draws one, for readers who cannot see the canvas; the chart itself is labelled.
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

export interface SeriesSpec {
  label: string
  values: (number | null)[]
  color: string
}

export function Chart(props: { title: string; times: number[]; series: SeriesSpec[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const element = box.current
    if (!element) return
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: props.height ?? 220,
        series: [{}, ...props.series.map((one) => ({ label: one.label, stroke: one.color, width: 2 }))],
        axes: [{ stroke: axisColor() }, { stroke: axisColor(), size: 60 }],
        legend: { show: true },
      },
      [props.times, ...props.series.map((one) => one.values)],
      element,
    )
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(280, element.clientWidth), height: props.height ?? 220 }),
    )
    resize.observe(element)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [props.times, props.series, props.height])
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} role="img" aria-label={`${props.title} chart`} />
    </figure>
  )
}

/** The axis text follows the theme (the canvas cannot read CSS colours itself). */
function axisColor(): string {
  return getComputedStyle(document.documentElement).getPropertyValue('--fg').trim() || '#444'
}
