# Segmint: the two commands a new user needs are `make demo` and `make test`.
.PHONY: install demo test test-ts test-cluster test-contracts typecheck contracts bench clean attack chaos

NPM ?= npm

# Installs dependencies when package-lock.json is newer than the last install.
node_modules/.installed: package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

# Livepeer's own SDK for e2e/livepeerSdk.test.ts, apart from the workspace (its runtime deps
# include jest 29, which would clash with ours): pinned in e2e/livepeer-sdk/package-lock.json.
e2e/livepeer-sdk/node_modules/.installed: e2e/livepeer-sdk/package-lock.json
	$(NPM) ci --prefix e2e/livepeer-sdk --no-audit --no-fund
	@touch $@

# The npm arm64 ffmpeg build, run under qemu-aarch64-static by the determinism test and
# `npm run determinism`: apart from the workspace (npm skips a package for another CPU), pinned in
# determinism/arm64/package-lock.json; --force installs it on x86-64.
determinism/arm64/node_modules/.installed: determinism/arm64/package-lock.json
	$(NPM) ci --prefix determinism/arm64 --no-audit --no-fund --force
	@touch $@

# qemu-user (Debian's qemu-user-static): runs that arm64 build on an x86-64 machine.
/usr/bin/qemu-aarch64-static:
	@command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] || { echo "qemu-aarch64-static missing: install Debian's qemu-user-static"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null

# ffprobe: the npm static build crashes on MPEG-TS, so Debian's is used (apt-get, as root).
/usr/bin/ffprobe:
	@command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] || { echo "ffprobe missing: install Debian's ffmpeg package or set FFPROBE_PATH"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null

# chromium: the watch page is tested in a real headless browser (playwright-core drives Debian's).
/usr/bin/chromium:
	@command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] || { echo "chromium missing: install Debian's chromium package or set CHROMIUM_PATH"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

# GStreamer: a second RTMP publisher in the tests (rtmp2sink, x264enc, voaacenc), written apart from ffmpeg.
/usr/bin/gst-launch-1.0:
	@command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] || { echo "gst-launch-1.0 missing: install Debian's gstreamer1.0-tools and gstreamer1.0-plugins-{base,good,bad,ugly}"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly >/dev/null

install: node_modules/.installed e2e/livepeer-sdk/node_modules/.installed $(if $(FFPROBE_PATH),,/usr/bin/ffprobe) $(if $(CHROMIUM_PATH),,/usr/bin/chromium) /usr/bin/gst-launch-1.0 determinism/arm64/node_modules/.installed /usr/bin/qemu-aarch64-static

demo: install
	$(NPM) run demo

typecheck: install
	$(NPM) run typecheck

# e2e/redisRestart runs in a jest process of its own: in the full suite the orchestrator it restarts
# Redis under has at times not finished closing, and what it left running slowed the suites after it
# in that jest worker (issue 15's closing note; not yet diagnosed).
test-ts: install
	$(NPM) test -- --testPathIgnorePatterns /node_modules/ e2e/redisRestart.test.ts
	$(NPM) test -- e2e/redisRestart.test.ts

contracts: install
	$(NPM) run --workspace contracts --if-present build

test-contracts: install
	$(NPM) run --workspace contracts --if-present test

# The attack suite (attacks/*.attack.ts): each attack a real worker or client against a real orchestrator.
attack: install
	$(NPM) run attack

# The chaos run, short: 90 s of a live stream with 6 faults (kill -9s, Redis restarts); see README.
chaos: install
	$(NPM) run chaos -- --minutes 1.5

# The e2e suites that cross orchestrators, the marketplace, payments and queues, again on a
# 3-master Redis Cluster the test setup starts (redis-server ×3 + redis-cli --cluster create); the
# unit tests of every Lua-scripted store already run on both.
CLUSTER_SUITES = e2e/redisCluster.test.ts e2e/scaleOut.test.ts e2e/marketplace.test.ts e2e/livePipeline.test.ts e2e/payments.test.ts e2e/webhooks.test.ts e2e/hardContent.test.ts
test-cluster: install
	SEGMINT_TEST_REDIS_CLUSTER=1 $(NPM) test -- $(CLUSTER_SUITES)

test: typecheck test-contracts test-ts test-cluster attack chaos

bench: install
	$(NPM) run bench:pipeline

clean:
	rm -rf node_modules .data contracts/out contracts/cache
