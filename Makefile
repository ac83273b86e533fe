# Two entry points: `make demo` and `make test`. Both create .venv and install from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
# The suite runs on both cores (pytest-xdist; docs/testing.md); `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= 2
PORT   ?= 8000

.PHONY: install demo test lint clean messages browser dicom-tools pdf-tools screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,s3,enhance]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "Demo running at http://$(HOST):$(PORT)/   (API docs: /api/docs/   admin: /admin/)"
	@echo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir var/site
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# Debian's Chromium for the browser tests and Noto CJK so pages and PDFs render Chinese (needs root and apt).
browser:
	command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk)

# The README's screenshots (docs/img/*.png): a small demo seeded in a temporary directory, served on a free port and shot
# with Playwright + Chromium (`make browser` first). Commit the PNGs it writes.
screenshots: install
	$(BIN)/python tests/screenshots.py

# The diagnostic viewer's bundle (docs/imaging/viewer.md): rebuilt only when imaging/viewer/ changes (Node 20 + npm);
# the built files and SOURCE.sha256 are committed, so demo and test need no Node (tests/test_viewer_bundle.py).
.PHONY: viewer
viewer: install
	cd imaging/viewer && npm ci && npm run build
	$(BIN)/python -m imaging.viewer_bundle --write

# poppler's pdftoppm: the PDF layout test renders every report page to PNG (reports/tests/test_pdf_layout.py; needs root and apt).
pdf-tools:
	command -v pdftoppm >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils)

# dcmtk's storescu/echoscu/findscu: the independent DICOM peer of the network intake tests (needs root and apt).
dicom-tools:
	command -v storescu >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dcmtk)

lint: install
	$(BIN)/ruff check .

# Re-extract and compile translations, one catalogue per app (needs GNU gettext; the .mo files are committed).
APPS := registry trials imaging reports
messages: install
	for app in $(APPS); do (cd $$app && mkdir -p locale && ../$(BIN)/python ../manage.py makemessages -l zh_Hans --ignore 'tests/*' \
	  && ../$(BIN)/python ../manage.py compilemessages -l zh_Hans) || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
