#!/bin/sh
# The parallama command: the CLI and the server (`parallama serve`), on the system's Node.js.
exec /usr/bin/node /usr/lib/parallama/dist/cli/index.js "$@"
