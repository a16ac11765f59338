#!/bin/sh
# The README's main job. For now: validate every example desired state.
set -eu
build=${1:-build}
for f in examples/*.yaml; do
	"$build/cmd/mdcctl" validate -f "$f"
done
