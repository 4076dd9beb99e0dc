#!/usr/bin/env bash
# `npm test`: everything the test run needs on a fresh machine, then jest (units and integration tests).
# - npm ci when node_modules is missing (no install script downloads anything: ONNXRUNTIME_NODE_INSTALL=skip)
# - Ceph radosgw from Debian's packages, the real S3 server the integration tests run against
# - Debian's chromium, the real browser the dashboard test drives
# - a build (tests spawn real worker processes from dist/, and global setup migrates with it)
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/s3/install.sh
bash scripts/browser/install.sh
npm run build --silent
exec node --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand "$@"
