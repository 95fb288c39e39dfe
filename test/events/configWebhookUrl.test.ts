// Attack (issue 12 review): the deprecated alerts.webhook_url accepted credentials (http://user:pass@host/...), which
// `parallama webhook add` refuses: `webhook list` then showed them (it lists the config-made subscription's URL), and
// undici dropped them from every delivery anyway. The config must refuse them, naming the key.
import t from 'tap'
import { configFrom } from '../../src/config/load.js'

t.test('alerts.webhook_url with credentials is refused; a query or an @ in the path is not', async (t) => {
  for (const url of ['http://user:pass@hooks.example.com/x', 'https://token@hooks.example.com/', 'http://u:p@h']) {
    t.throws(() => configFrom({ alerts: { webhook_url: url } }), /alerts\.webhook_url: .*without credentials/, url)
  }
  for (const url of ['https://hooks.example.com/x?token=abc', 'http://127.0.0.1:8080/a@b', '']) {
    t.equal(configFrom({ alerts: { webhook_url: url } }).alerts.webhook_url, url, url)
  }
})
