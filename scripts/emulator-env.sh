# Sourced by scripts: start_emulator DIR starts a fresh emulator that lives as long as the calling
# shell, waits for its ready line (no sleeping) and exports the environment that points at it.
start_emulator() {
    local dir=$1 here py line
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    py=${SSM_KEEPER_PYTHON:-$here/.venv/bin/python}
    rm -rf "$dir" && mkdir -p "$dir"
    exec {EMULATOR_FD}< <(exec "$py" "$here/emulator/launch.py" --state-dir "$dir" --exit-with-parent $$ 2>"$dir/emulator.log")
    if ! read -r -u "$EMULATOR_FD" line || [[ $line != READY* ]]; then
        echo "the emulator did not start; its log:" >&2
        cat "$dir/emulator.log" >&2
        return 1
    fi
    eval "$("$py" -c 'import json,sys; sys.path.insert(0, sys.argv[2]); import launch; print(launch.shell_env(json.loads(sys.argv[1])))' "${line#READY }" "$here/emulator")"
    trap 'kill "$SSM_KEEPER_EMULATOR_PID" 2>/dev/null || true' EXIT
}
