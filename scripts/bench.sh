#!/usr/bin/env bash
# Benchmark against a fresh local emulator; reports figures, asserts nothing about time.
#  - plan: wall time and AWS API calls for 1, 3 and 17 regions (empty account and converged)
#  - backup: wall time, API calls by operation and peak memory for 1,000 and 10,000
#    parameters, paced to SSM's default quotas (the default) and with a ceiling (--max-rps 20)
# Then (make bench) the benchmarks through the test proxy: tests/it/bench_*.rs.
# Results also go to bench-results/plan.json and bench-results/backup.json.
# BENCH_SIZES="1000 10000" and BENCH_RUNS=5 can be set.
set -euo pipefail
bin=$(realpath "${1:-target/release/ssm-keeper}")
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/emulator-env.sh"
start_emulator "$here/.emulator/bench"

all_regions=(us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 eu-west-1 eu-west-2 eu-west-3
             eu-central-1 eu-north-1 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-southeast-1
             ap-southeast-2 ap-south-1 sa-east-1)
runs=${BENCH_RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"; kill "$SSM_KEEPER_EMULATOR_PID" 2>/dev/null || true' EXIT
mkdir -p "$here/bench-results" "$work/stacks"
cd "$work"

now() { date +%s.%N; }
results=()
printf '%-8s %-10s %10s %10s %10s  %s\n' regions state "min (s)" "median (s)" "API calls" "calls by operation"
for n in 1 3 17; do
    env="bench$n"
    {
        echo "projectName: bench"
        echo "environment: $env"
        echo "regions:"
        for r in "${all_regions[@]:0:n}"; do echo "  - $r"; done
        echo "defaultRegion: ${all_regions[0]}"
        echo "ssmHomeRegion: ${all_regions[0]}"
    } > "stacks/$env.yaml"
    for state in empty converged; do
        if [ "$state" = converged ]; then
            "$bin" apply --stack "$env" --auto-approve > /dev/null
        fi
        times=()
        for _ in $(seq "$runs"); do
            t0=$(now)
            set +e; "$bin" plan --stack "$env" --detailed-exitcode --api-stats calls.json > /dev/null; code=$?; set -e
            t1=$(now)
            [ "$code" -ne 1 ] || { echo "plan failed" >&2; exit 1; }
            times+=("$(python3 -c "print($t1 - $t0)")")
        done
        sorted=($(printf '%s\n' "${times[@]}" | sort -n))
        min=${sorted[0]}; median=${sorted[$(( ${#sorted[@]} / 2 ))]}
        total=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1])).values()))' calls.json)
        by_op=$(python3 -c 'import json,sys; print(", ".join(k.split(".")[1] + "=" + str(v) for k,v in json.load(open(sys.argv[1])).items()))' calls.json)
        printf '%-8s %-10s %10.3f %10.3f %10s  %s\n' "$n" "$state" "$min" "$median" "$total" "$by_op"
        results+=("{\"regions\": $n, \"state\": \"$state\", \"min_s\": $min, \"median_s\": $median, \"api_calls\": $(cat calls.json)}")
    done
done
(IFS=,; echo "[${results[*]}]") | python3 -m json.tool > "$here/bench-results/plan.json"
echo "written: bench-results/plan.json"

# ---- backup ------------------------------------------------------------------------------
# Peak memory of a child process, portable (no /usr/bin/time needed): prints maxrss in KiB.
measure() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
elapsed = time.monotonic() - t0
print(f"{code} {elapsed:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}

backup_results=()
echo
printf '%-8s %-10s %10s %12s %10s  %s\n' params pacing "wall (s)" "peak (MiB)" "API calls" "calls by operation"
region=us-east-1
for size in ${BENCH_SIZES:-1000 10000}; do
    env="bk$size"
    printf 'projectName: bench\nenvironment: %s\nregions:\n  - %s\ndefaultRegion: %s\nssmHomeRegion: %s\n' \
        "$env" "$region" "$region" "$region" > "stacks/$env.yaml"
    "$bin" apply --stack "$env" --auto-approve > /dev/null
    "$here/.venv/bin/python" "$here/scripts/seed-parameters.py" "$region" "$env" "$size" > /dev/null
    for budget in 20 0; do
        read -r code wall rss < <(measure "$bin" --api-stats calls.json backup --stack "$env" --max-rps "$budget" --summary-file summary.json)
        [ "$code" -eq 0 ] || { echo "backup failed" >&2; exit 1; }
        total=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1])).values()))' calls.json)
        by_op=$(python3 -c 'import json,sys; print(", ".join(k.split(".")[1] + "=" + str(v) for k,v in json.load(open(sys.argv[1])).items()))' calls.json)
        label=$([ "$budget" -eq 0 ] && echo paced || echo "max $budget/s")
        printf '%-8s %-10s %10.1f %12.1f %10s  %s\n' "$size" "$label" "$wall" "$(echo "$rss" | python3 -c 'print(int(input())/1024)')" "$total" "$by_op"
        backup_results+=("{\"parameters\": $size, \"max_rps\": $budget, \"wall_s\": $wall, \"peak_rss_kib\": $rss, \"api_calls\": $(cat calls.json)}")
    done
done
(IFS=,; echo "[${backup_results[*]}]") | python3 -m json.tool > "$here/bench-results/backup.json"
echo "written: bench-results/backup.json"
