# Vigil: `make demo` runs it, `make test` tests it. Both install first (idempotent).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vigil-installed
APT_PACKAGES := ffmpeg gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-tools python3-gi postgresql mosquitto \
  chromium poppler-utils fonts-noto-cjk fonts-droid-fallback prometheus
# installed without recommends (they would pull in Java and a desktop): DOCX -> PDF for the document page tests
APT_NO_RECOMMENDS := libreoffice-writer-nogui

.PHONY: install system-deps demo test bench models docs clean

install: system-deps $(STAMP)

# Debian packages the tests and demo need; installed only when something is missing.
system-deps:
	@missing=0; \
	for c in ffmpeg gst-launch-1.0 /usr/bin/chromium /usr/sbin/mosquitto pdftoppm /usr/bin/prometheus soffice; do \
	  command -v $$c >/dev/null 2>&1 || missing=1; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing=1; \
	ls /usr/lib/x86_64-linux-gnu/girepository-1.0/GstRtspServer-1.0.typelib /usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib >/dev/null 2>&1 || missing=1; \
	fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing=1; \
	test -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf || missing=1; \
	if [ $$missing = 1 ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing system packages; run as root: apt-get install -y $(APT_PACKAGES)" \
	    "&& apt-get install -y --no-install-recommends $(APT_NO_RECOMMENDS)"; exit 1; fi; \
	  echo "installing system packages: $(APT_PACKAGES) $(APT_NO_RECOMMENDS)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_NO_RECOMMENDS) >/dev/null; \
	fi

# torch/torchvision are pinned and come from this machine's disk (../shared/STACK.md); `trackers`
# goes in with --no-deps because it asks for opencv-python (GUI), which clashes with the headless cv2.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[train,test]'
	$(BIN)/pip install -q --no-deps trackers==2.6.1
	@touch $(STAMP)

demo: install
	$(BIN)/vigil demo

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench.run

docs: install
	$(BIN)/vigil config docs > docs/CONFIG.md

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
