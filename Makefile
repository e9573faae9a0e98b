# Parley's front door: `make demo`, `make test`, `make bench`, `make fuzz`.
# Every target installs missing Debian packages first (scripts/install-deps).

JOBS ?= $(shell nproc)
CMAKE_GEN := -G Ninja
RELEASE := build/release
ASAN := build/asan
FUZZ := build/fuzz
FUZZ_SECONDS ?= 10
SECONDS ?= 600

.PHONY: all deps build asan test unit-test asan-test web web-test fuzz fuzz-smoke fuzz-long bench demo speech netlab soak clean

all: build

deps:
	@scripts/install-deps

$(RELEASE)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(RELEASE) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(RELEASE)/build.ninja
	cmake --build $(RELEASE) -j $(JOBS)

$(ASAN)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON -DPARLEY_BENCH=OFF

asan: deps $(ASAN)/build.ninja
	cmake --build $(ASAN) -j $(JOBS)

# Test speech is generated here (espeak-ng through sox), never downloaded.
speech: deps
	@scripts/make-speech build/testdata

unit-test: build speech web  # web: tests/web_e2e serves build/web
	ctest --test-dir $(RELEASE) --output-on-failure -j $(JOBS)

asan-test: asan speech
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN) --output-on-failure -j $(JOBS)

test: unit-test asan-test web-test fuzz-smoke

# The web client (web/): npm ci only when package-lock.json is newer than the
# install, then static assets into build/web (no Node.js needed to serve them).
WEB_INSTALLED := web/node_modules/.package-lock.json

$(WEB_INSTALLED): web/package-lock.json
	@command -v npm >/dev/null || { echo "make web needs Node.js 20.19+ and npm (e.g. from nodesource)"; exit 1; }
	cd web && npm ci --no-audit --no-fund

web: $(WEB_INSTALLED)
	cd web && npm run build

web-test: $(WEB_INSTALLED)
	cd web && npx tsc --noEmit && npx vitest run

$(FUZZ)/build.ninja: CMakeLists.txt | deps
	CXX=clang++-14 cmake -S . -B $(FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON

fuzz: deps $(FUZZ)/build.ninja
	cmake --build $(FUZZ) -j $(JOBS)

# A short bounded run of every fuzz target, from its seed corpus.
fuzz-smoke: fuzz
	@scripts/run-fuzzers $(FUZZ) $(FUZZ_SECONDS)

fuzz-long: fuzz
	@scripts/run-fuzzers $(FUZZ) $(SECONDS)

# make bench SIGNALING_CLIENTS=2000: the signaling load bench with fewer than 10,000 clients.
bench: build speech
	@scripts/run-bench $(RELEASE) build/testdata
	@python3 scripts/bench_signaling.py --build $(RELEASE) $(SIGNALING_CLIENTS)

demo: build speech web
	@scripts/demo $(RELEASE) build/testdata

# The censor lab (tests/netlab; root): every policy, the DPI check, the prober and the browser calls; writes docs/censorship.md.
netlab: build speech web
	python3 tests/netlab/netlab.py --build $(RELEASE) --testdata build/testdata --report docs/censorship.md \
	  --json build/netlab.json

# A bounded soak (issue #7): calls on loopback for MINUTES; parleyd's memory, descriptors
# and call counts every minute; growth under the steady load fails.
MINUTES ?= 10
soak: build speech
	@scripts/soak $(RELEASE) build/testdata $(MINUTES)

clean:
	rm -rf build
