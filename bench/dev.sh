#!/usr/bin/env bash
# Starts the gateway in front of a real Ollama when one answers on 127.0.0.1:11434, else in front of the emulator
# started here on that port. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
if curl -fsS --max-time 1 http://127.0.0.1:11434/api/version >/dev/null 2>&1; then
  echo "Using the Ollama that answers on 127.0.0.1:11434"
else
  echo "No Ollama on 127.0.0.1:11434: starting the emulator there"
  node dist/bench/emulator/main.js --port 11434 --delay-ms 20 &
  emulator=$!
  trap 'kill $emulator 2>/dev/null || true' EXIT
  for _ in $(seq 50); do curl -fsS --max-time 1 http://127.0.0.1:11434/ >/dev/null 2>&1 && break; sleep 0.1; done
fi
echo "Gateway on http://127.0.0.1:11435 — try: curl http://127.0.0.1:11435/api/tags"
node dist/cli/index.js serve --config conf/parallama.dev.yaml
