# Overbook: the two commands a newcomer needs are `make run` and `make test`.
#
#   make run      set up, build (release), run a scenario: SCENARIO=path ARGS='...'
#   make test     set up, run `swift test` against a throwaway Redis and PostgreSQL,
#                 check deploy/ (scripts/check-deploy.sh), then `make fuzz`, then the
#                 Examples/ package
#   make fuzz     set up, build, fuzz both HTTP services with schemathesis (scripts/fuzz-api.sh)
#   make bench    set up, build (release), `overbook bench` (ARGS='...')
#   make examples build and run the Examples/ package (a variant defined outside Overbook)
#   make build    debug build of everything
#   make clean    remove build products (keeps fetched package checkouts)
#   make distclean  remove the whole build folder
#
# Variables: SCRATCH_PATH (build folder, default .build), TEST_ARGS (passed to
# `swift test`, e.g. TEST_ARGS='--filter SimulationTests'), SWIFT (default swift),
# SETUP_ARGS (to scripts/setup.sh: --build-only), SWIFT_BUILD_ARGS (to the release build;
# deploy/Dockerfile passes --static-swift-stdlib).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# The toolchain lives at /opt/swift/usr/bin on this project's machines; use it when
# swift is not already on PATH.
SWIFT_FALLBACK_DIR ?= /opt/swift/usr/bin
ifeq ($(shell command -v swift 2>/dev/null),)
  ifneq ($(wildcard $(SWIFT_FALLBACK_DIR)/swift),)
    export PATH := $(PATH):$(SWIFT_FALLBACK_DIR)
  endif
endif

SWIFT        ?= swift
SCRATCH_PATH ?= .build
SCENARIO     ?= scenarios/seed-experiment.yaml
ARGS         ?=
TEST_ARGS    ?=
SETUP_ARGS   ?=
SWIFT_BUILD_ARGS ?=
OVERBOOK     := $(SCRATCH_PATH)/release/overbook
# scripts/with-servers.sh builds into the same folder.
export SCRATCH_PATH SWIFT

.DEFAULT_GOAL := help
.PHONY: help setup build release run test fuzz bench examples clean distclean

help:
	@sed -n '3,17p' Makefile | sed 's/^# \{0,1\}//'

setup:
	@scripts/setup.sh $(SETUP_ARGS)

build: setup
	$(SWIFT) build --scratch-path $(SCRATCH_PATH)

release: setup
	$(SWIFT) build -c release --product overbook --scratch-path $(SCRATCH_PATH) $(SWIFT_BUILD_ARGS)

run: release
	$(OVERBOOK) run $(SCENARIO) $(ARGS)

bench: release
	$(OVERBOOK) bench $(ARGS)

# SWIFT_DETERMINISTIC_HASHING=1 is a backstop, not the fix: the code must never let
# Set/Dictionary order shape behaviour (DESIGN.md section 5). It only makes a slip
# reproducible between processes instead of random.
test: export SWIFT_DETERMINISTIC_HASHING := 1
test: setup
	python3 scripts/check-imports.py
	scripts/with-servers.sh $(SWIFT) test --scratch-path $(SCRATCH_PATH) $(TEST_ARGS)
	scripts/check-deploy.sh $(SCRATCH_PATH)/debug/overbook
	scripts/with-servers.sh scripts/fuzz-api.sh
	$(SWIFT) run --package-path Examples CheckFirst 20

# Fresh throwaway servers of its own; with-servers.sh builds (a no-op after `swift test`).
# Reports: reports/api-fuzz/ (JUnit XML per service, the services' logs).
fuzz: setup
	scripts/with-servers.sh scripts/fuzz-api.sh

examples: setup
	$(SWIFT) run --package-path Examples CheckFirst $(ARGS)

clean:
	$(SWIFT) package clean --scratch-path $(SCRATCH_PATH)

distclean:
	rm -rf -- $(SCRATCH_PATH)
