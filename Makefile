# ssm-keeper: build, test and demo on a local AWS emulator (moto server, pinned, in .venv).
# A fresh machine needs only `make demo` and `make test`.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
EMULATOR_DIR := .emulator
CARGO ?= cargo

.PHONY: all build demo test lint fmt bench fuzz actionlint zizmor emulator emulator-stop venv clean

all: build

build:
	$(CARGO) build --release --locked

# The emulator's virtualenv: moto[server] pinned, with every transitive version fixed. Its
# output goes to stderr: `make -s emulator` builds it on first use, and its stdout is eval'd.
$(VENV_STAMP): emulator/requirements.txt emulator/constraints.txt
	$(PYTHON) -m venv $(VENV) >&2
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r emulator/requirements.txt -c emulator/constraints.txt >&2
	$(VENV_PY) emulator/launch.py --self-check >&2
	touch $@

venv: $(VENV_STAMP)

# Starts the emulator in the background (or reuses the running one) and prints the
# environment for it:  eval "$(make -s emulator)". Only shell on stdout (`export` and `unset`
# lines), everything else on stderr, fresh clone included (tests/it/makefile.rs).
emulator: $(VENV_STAMP)
	@$(VENV_PY) emulator/launch.py --state-dir $(EMULATOR_DIR) --detach --print-env

emulator-stop:
	@if [ -x $(VENV_PY) ]; then $(VENV_PY) emulator/launch.py --state-dir $(EMULATOR_DIR) --stop; fi

# The main job end to end on a fresh emulator: plan, apply, plan again (no changes), then the
# nightly backup. A debug build: it is what `make test` builds too, so the two share it.
demo: $(VENV_STAMP)
	$(CARGO) build --locked
	scripts/demo.sh target/debug/ssm-keeper

# The workflow checkers, actionlint and zizmor (prebuilt binaries shipped in their PyPI wheels),
# pinned, in the same virtualenv.
ACTIONLINT := $(VENV)/bin/actionlint
ZIZMOR := $(VENV)/bin/zizmor
TOOLS_STAMP := $(VENV)/.tools-installed
$(TOOLS_STAMP): emulator/tools-requirements.txt emulator/constraints.txt $(VENV_STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r emulator/tools-requirements.txt -c emulator/constraints.txt
	touch $@

# The GitHub workflows, checked offline.
actionlint: $(TOOLS_STAMP)
	$(ACTIONLINT) -no-color .github/workflows/*.yml

# The GitHub workflows' security audit, offline, every audit of the auditor persona: any finding
# of medium severity or above fails.
zizmor: $(TOOLS_STAMP)
	$(ZIZMOR) --offline --persona=auditor --min-severity=medium --no-progress --color=never .github/workflows/

# The workflows, then unit tests of the pure core and integration tests against the emulator
# (each test binary starts its own emulator and stops it when it exits).
test: $(VENV_STAMP) actionlint zizmor
	SSM_KEEPER_PYTHON=$(abspath $(VENV_PY)) $(CARGO) test --locked --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The bad-input properties (stack parser, saved-plan reader, backup-document reader) with a
# million generated inputs each, in a release build. Outside CI: it takes a while.
FUZZ_CASES ?= 1000000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked --lib core::fuzz -- --test-threads=2

# Figures only, no time asserted: plan and backup against the bare emulator (scripts/bench.sh),
# then through the test proxy (tests/it/bench_*.rs): SSM's default quotas enforced
# (BENCH_QUOTA_BACKUP, BENCH_QUOTA_RESTORE, BENCH_QUOTA_REGION_SIZE, BENCH_QUOTA_DEEP) and a latency per direction
# (BENCH_LATENCY_MS, default 10).
bench: $(VENV_STAMP)
	$(CARGO) build --release --locked
	scripts/bench.sh target/release/ssm-keeper
	SSM_KEEPER_PYTHON=$(abspath $(VENV_PY)) $(CARGO) test --release --locked --test it bench_ -- --ignored --nocapture --test-threads=1

clean: emulator-stop
	rm -rf $(VENV) $(EMULATOR_DIR) target
