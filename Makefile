# jazz_flax — every job a user runs. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXP    ?= baseline
ARGS   ?=
SWEEP  ?= hidden_size
MIDI   := data/original_metheny.mid
DATA   := $(if $(filter wjazzd%,$(EXP)),wjazzd,$(if $(filter leadsheets openewld,$(EXP)),$(EXP),data))  # provides EXP's data

.PHONY: help install data leadsheets wjazzd openewld test test-all lint summary train generate floors fuzz

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install:  ## create .venv and install jazz_flax (editable) with the dev extras
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'

data:  ## download the Metheny MIDI into data/ (sha256-checked; skipped when present)
	$(PY) -m jazz_flax.data.download

wjazzd:  ## download the Weimar Jazz Database's 912 CSV files into data/wjazzd (sha256-checked, resumable)
	$(PY) -m jazz_flax.data.download wjazzd

openewld:  ## download OpenEWLD's 502 lead sheets into data/openewld (sha256-checked, resumable)
	$(PY) -m jazz_flax.data.download openewld

leadsheets:  ## copy the lead sheets music21 ships with into data/leadsheets (no download)
	$(PY) -m experiments.leadsheets

test:  ## run the test suite (CI's; `extended` variants left out: tests/conftest.py)
	$(PY) -m pytest -q -m "not extended"

test-all:  ## run every test, the extended variants too
	$(PY) -m pytest -q

lint:  ## ruff
	$(VENV)/bin/ruff check jazz_flax tests experiments

summary: data  ## print the corpus summary of the Metheny file
	$(PY) -m jazz_flax.data summary --midi $(MIDI)

train: $(DATA)  ## train experiments/$(EXP).py into runs/$(EXP) (ARGS="--config.epochs=200 ...")
	$(PY) -m jazz_flax.main train --config experiments/$(EXP).py $(ARGS)

generate:  ## improvise with runs/$(EXP)'s model (ARGS="--temperature 0.8 --seed 3 --chords 'Dm7 G7'")
	$(PY) -m jazz_flax.main generate --config experiments/$(EXP).py $(ARGS)

.PHONY: evaluate sweep

evaluate:  ## held-out NLL and musical metrics of runs/$(EXP) into runs/$(EXP)/eval.json (ARGS="--solos 8")
	$(PY) -m jazz_flax.main evaluate --config experiments/$(EXP).py $(ARGS)

sweep: $(if $(filter wjazzd_%,$(SWEEP)),wjazzd,data)  ## train and evaluate experiments/sweeps/$(SWEEP).py into runs/sweeps/$(SWEEP)
	$(PY) -m jazz_flax.main sweep --sweep experiments/sweeps/$(SWEEP).py $(ARGS)

floors:  ## the dependency floors (constraints.txt) in a fresh venv, then the fast tests there (slow: a download)
	JAZZ_FLAX_FLOORS=1 $(PY) -m pytest -q tests/test_package.py -k floors

fuzz:  ## the property tests of the decoder and the chord parser, 10,000 examples each
	$(PY) -m pytest -q tests/test_fuzz.py --hypothesis-profile=fuzz --hypothesis-show-statistics

.PHONY: audio

AUDIO_PACKAGES := fluidsynth timgm6mb-soundfont  # the program and a 5.7 MB General MIDI soundfont
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

audio:  ## install FluidSynth and a small GM soundfont (apt; brew elsewhere) for real-instrument WAVs
	@if command -v fluidsynth >/dev/null && ls /usr/share/sounds/sf2/*.sf2 >/dev/null 2>&1; then \
	  echo "FluidSynth and a soundfont are installed"; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends $(AUDIO_PACKAGES); \
	elif command -v brew >/dev/null; then \
	  brew install fluid-synth && echo "then pass --soundfont PATH to a General MIDI .sf2"; \
	else \
	  echo "install fluidsynth and a General MIDI soundfont with your package manager" >&2; exit 1; \
	fi

.PHONY: bench

bench:  ## compile/train/sample timings and scaling (+ PyTorch if installed: pip install -e '.[bench]') into runs/bench
	$(PY) -m experiments.bench.benchmark $(ARGS)
