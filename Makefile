# pacsnb: `make demo`, `make test`, `make lab` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lab bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test,lab,dask]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pacsnb.demo demo-output

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests pacsnb notebooks --doctest-modules --nbval -p no:cacheprovider

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_read.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
