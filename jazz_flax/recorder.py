"""What `train.fit` writes into a run directory between calls, by process 0 alone.

    after each call: config.json (the first time, the last run's results removed), best/ (a new
                     lowest validation NLL), metrics.jsonl's new rows, checkpoint.msgpack, and with
                     `config.log.tensorboard` the TensorBoard scalars
    at the end:      TensorBoard's piano roll of a solo of the model

Every write goes through `distributed.on_writer`: process 0 writes and the others wait for it,
and a write that fails stops every process. Without a run directory nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import ml_collections

from jazz_flax import checkpoints, data, distributed, tensorboard


class Recorder:
    """The writer of a run directory (`workdir`, or None: nothing written) for `fit`."""

    def __init__(self, workdir: Path | None, config: ml_collections.ConfigDict, saved: int = 0):
        """`saved`: the epochs the run directory's checkpoint holds already (a resumed run)."""
        self.workdir, self.config = workdir, config
        self.saved = saved  # the epochs the checkpoint holds
        self.written = None  # the epochs this run has written to metrics.jsonl; None: nothing yet
        self.board = None  # the TensorBoard event file, open on process 0 once written to
        if workdir is not None and config.log.tensorboard:
            distributed.on_writer(tensorboard.require)

    def save(self, state, history: list[dict], vocab: data.Vocabulary, best=None) -> None:
        """The epochs of `history` not written yet, the checkpoint of `state` and `best` (a
        `train.Best`: a new lowest validation NLL, or None) into best/."""
        if self.workdir is None:
            return
        distributed.on_writer(self._write, state, history, vocab, best)
        self.saved = self.written = len(history)

    def _write(self, state, history: list[dict], vocab: data.Vocabulary, best) -> None:
        workdir, config, first = self.workdir, self.config, self.written or 0
        if self.written is None:
            checkpoints.start_writing(workdir, config)
            if config.log.tensorboard:
                self.board = tensorboard.Board(workdir, config, fresh=self.saved == 0)
        if best is not None:
            checkpoints.save(workdir / checkpoints.BEST, best.state, history, vocab, config)
        checkpoints.save(workdir, state, history, vocab, config, saved=first)
        if self.board is not None:
            self.board.scalars(history[self.saved :])

    def finish(self, model, fitted, vocab: data.Vocabulary) -> None:
        """TensorBoard's piano roll of a solo of the model `fitted` (a `train.Fitted`) trained,
        in its best state when it kept one, else its last; the event file closed."""
        if self.workdir is not None and self.written is not None:
            distributed.on_writer(self._finish, model, fitted, vocab)

    def _finish(self, model, fitted, vocab: data.Vocabulary) -> None:
        if self.board is None:
            return
        best = fitted.best
        state, epoch = (best.state, best.epoch) if best else (fitted.state, len(fitted.history))
        self.board.piano_roll(tensorboard.solo_of(self.config, model, state.params, vocab), epoch)
        self.board.close()

    def kept(self) -> str:
        """What the run directory keeps, for a message about a stopped run."""
        return checkpoints.kept(self.workdir, self.saved)
