#!/usr/bin/env bash
# Preflight for a pull request that touches MicroApp YAML: validate, estimate, diff.
#
#   manifests/ci/microapp-preflight.sh [BASE]      BASE: the branch the PR merges into (default origin/main)
#
# 1. The MicroApp files the PR adds or changes (git diff BASE...HEAD, *.yaml/*.yml with kind: MicroApp).
# 2. `microapp validate` (offline; with $POLICY, the platform's guardrails, teams and namespaces too).
# 3. `microapp estimate` for each file (offline; $POLICY's prices).
# 4. `microapp diff` against the cluster of $KUBECONFIG, when one is set: what the merge would change,
#    through the cluster's own admission webhook (a server-side dry run; nothing is written).
#
# Exit 0 when every file is valid and no apply would be refused (a diff that shows changes is the
# point of the PR, not a failure); 1 when a file is invalid or an apply would be refused; 2 on a usage error.
# Environment: MICROAPP (the command, default `microapp`), POLICY (a PlatformPolicy file, optional),
# KUBECONFIG (optional; a read-only identity of the PR's team is enough: diff only dry-runs),
# GITHUB_STEP_SUMMARY (set by GitHub Actions: the report is added to the job's summary).
set -uo pipefail

base=${1:-origin/main}
read -r -a microapp <<<"${MICROAPP:-microapp}"
policy=()
[[ -n ${POLICY:-} ]] && policy=(--policy "$POLICY")

if ! list=$(git diff --name-only --diff-filter=ACMR "$base...HEAD" -- '*.yaml' '*.yml'); then
  echo "preflight: cannot list the files changed since $base (fetch it: git fetch origin; in Actions: fetch-depth: 0)" >&2
  exit 2
fi
files=()
while IFS= read -r f; do
  [[ -n $f ]] || continue
  grep -qE '^kind:[[:space:]]*MicroApp[[:space:]]*$' "$f" && files+=("$f")
done <<<"$list"
if ((${#files[@]} == 0)); then
  echo "preflight: no MicroApp file changed since $base"
  exit 0
fi
echo "preflight: ${#files[@]} MicroApp file(s) changed since $base: ${files[*]}"

report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0

section() { printf '\n== %s\n' "$1" | tee -a "$report"; }

section "microapp validate ${policy[*]}"
"${microapp[@]}" validate "${policy[@]}" "${files[@]}" 2>&1 | tee -a "$report"
(( PIPESTATUS[0] == 0 )) || status=1

section "microapp estimate"
for f in "${files[@]}"; do
  "${microapp[@]}" estimate "${policy[@]}" "$f" 2>&1 | tee -a "$report"
  (( PIPESTATUS[0] == 0 )) || status=1
done

if [[ -n ${KUBECONFIG:-} ]]; then
  section "microapp diff (against the cluster; a dry run)"
  NO_COLOR=1 "${microapp[@]}" diff "${files[@]}" 2>&1 | tee -a "$report"
  rc=${PIPESTATUS[0]}
  case $rc in
    0 | 1) ;;                                       # nothing / something would change: both fine
    *) echo "preflight: an apply would be refused, or the cluster could not be read (exit $rc)" | tee -a "$report"
       status=1 ;;
  esac
else
  section "microapp diff: skipped (no KUBECONFIG; set one to compare with the cluster)"
fi

if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
  { echo "### MicroApp preflight: $([[ $status == 0 ]] && echo passed || echo failed)"
    echo '```diff'; cat "$report"; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
fi
echo
echo "preflight: $([[ $status == 0 ]] && echo passed || echo 'failed (see above)')"
exit "$status"
