#!/usr/bin/env bash
# Builds keepalived-rs with each feature combination the README documents (the default build is
# tested by scripts/test.sh) and runs the tests that apply to a build, in the `cli` test binary:
# the command line (tests/cli/options.rs) and the build options themselves (tests/cli/features.rs:
# the `-v` line, the `-t` error and refusal to start for a keyword of a missing feature, and, by
# nm, no IPVS or checker code in a build without `lvs`); not its `install::` tests. Debug profile, so the release binary that scripts/test.sh
# built (and the package test installs) stays the default build; after the first combination
# only the crates whose features differ are rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."

combos=("vrrp" "vrrp,vmac" "lvs" "lvs,lvs-syncd")
for f in "${combos[@]}"; do
    echo "test-features.sh: --no-default-features --features $f" >&2
    cargo test -p keepalived-rs --no-default-features --features "$f" \
        --test cli -- --test-threads="${TEST_THREADS:-2}" options:: features::
done
