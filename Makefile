# Two commands: `make book` (environment, smoke run of every notebook, HTML book) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= smoke

.PHONY: book test run clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[book,test,cluster]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hpostudy)" >/dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hpostudy run --profile $(PROFILE)

book: run
	$(BIN)/hpostudy book

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf build _build
