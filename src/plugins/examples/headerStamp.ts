// Example plugin: stamps a response header on every reply (proxied or answered by another plugin), e.g. which gateway
// node served it. Config: `{ module: /usr/lib/parallama/dist/src/plugins/examples/headerStamp.js,
// options: { header: x-served-by, value: gw-1 } }`.
import type { Plugin, PluginFactory } from '../plugin.js'

const createHeaderStamp: PluginFactory = (options) => {
  const header = typeof options.header === 'string' ? options.header : 'x-parallama-plugin'
  const value = typeof options.value === 'string' ? options.value : 'header-stamp'
  // Checked once here (the gateway checks again per request): a bad option stops start-up, not every request.
  if (!/^[A-Za-z0-9-]{1,64}$/.test(header)) throw new Error(`header-stamp: "${header}" is not a header name`)
  const headers = { [header]: value }
  const plugin: Plugin = {
    name: 'header-stamp',
    onRequest: () => ({ headers }),
  }
  return plugin
}

export default createHeaderStamp
