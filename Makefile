# Two commands: `make book` (environment, smoke run of every notebook, HTML book) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= smoke

.PHONY: book test run clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[book,test,cluster]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hpostudy)" >/dev/null
	$(BIN)/python -m hpostudy.study.kernel >/dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hpostudy run --profile $(PROFILE)

book: run
	$(BIN)/hpostudy book

test: $(STAMP)
	$(BIN)/python -m pytest

# constraints.txt again from the environment (after adding or upgrading a package in it)
lock: $(STAMP)
	grep '^#' constraints.txt > constraints.txt.new
	$(BIN)/python -m pip freeze --all --exclude-editable >> constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf build _build
