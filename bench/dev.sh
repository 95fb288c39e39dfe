#!/usr/bin/env bash
# What `npm start` runs: the gateway in front of a real Ollama when one answers on 127.0.0.1:11434, else in front of
# the emulator started here on that port. On the first run it makes an admin user and an API key in ./data/ and
# prints the key. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
parallama() { node dist/cli/index.js "$@" --config conf/parallama.dev.yaml; }
if curl -fsS --max-time 1 http://127.0.0.1:11434/api/version >/dev/null 2>&1; then
  echo "Using the Ollama that answers on 127.0.0.1:11434"
else
  echo "No Ollama on 127.0.0.1:11434: starting the emulator there"
  node dist/bench/emulator/main.js --port 11434 --delay-ms 20 &
  emulator=$!
  trap 'kill $emulator 2>/dev/null || true' EXIT
  for _ in $(seq 50); do curl -fsS --max-time 1 http://127.0.0.1:11434/ >/dev/null 2>&1 && break; sleep 0.1; done
fi
if [ ! -f data/dev-key ]; then
  umask 077
  # A password too, for the dashboard's sign-in: random, kept beside the key (both only for this checkout's owner).
  if ! parallama user show dev >/dev/null 2>&1; then
    node -e "process.stdout.write(require('crypto').randomBytes(12).toString('base64url'))" > data/dev-password
    parallama user add dev --role admin --password-stdin < data/dev-password >/dev/null
  fi
  parallama key create --user dev --name "npm start" > data/dev-key
fi
key=$(cat data/dev-key)
cat <<TXT
Gateway on http://127.0.0.1:11435 — your admin API key is in data/dev-key:
  curl -H "Authorization: Bearer $key" http://127.0.0.1:11435/api/tags
TXT
if [ -f data/dev-password ]; then
  echo "Dashboard: http://127.0.0.1:11435/ui/ — user dev, password in data/dev-password"
fi
parallama serve
