#!/usr/bin/env bash
# `npm run quickstart`: on a fresh machine, installs what is missing, starts maskflow on its embedded
# defaults (local Postgres and Redis, a local S3 gateway, the self-hosted engine) and pushes the bundled
# sample images through the whole pipeline. Outputs land in .maskflow/quickstart-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ -z "${S3_ENDPOINT:-}" ]; then
  bash scripts/s3/install.sh
  bash scripts/s3/radosgw.sh start
fi
npm run build --silent
exec node dist/scripts/quickstart.js "$@"
