#!/usr/bin/env bash
# Placeholder until the stack services land: nothing to start yet.
set -euo pipefail
case "${1:-}" in up|down|status) exit 0;; *) echo "usage: $0 up|down|status" >&2; exit 2;; esac
