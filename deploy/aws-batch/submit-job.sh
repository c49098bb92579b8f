#!/usr/bin/env bash
# Submits cleaner as an array job of N children: Batch sets AWS_BATCH_JOB_ARRAY_INDEX and
# AWS_BATCH_JOB_ARRAY_SIZE in each, which cleaner reads as its shard. A failed child is retried
# (retryStrategy) on a fresh disk and reconciles from the destination.
set -euo pipefail
N=${1:-8}
aws batch register-job-definition --cli-input-json file://"$(dirname "$0")"/job-definition.json >/dev/null
aws batch submit-job \
  --job-name "cleaner-$(date -u +%Y%m%dT%H%M)" \
  --job-queue cleaner \
  --job-definition cleaner \
  --array-properties size="$N"
