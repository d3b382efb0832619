"""GRU4Rec in Python, on the C++ engine of the gru4rec command.

    import pandas as pd
    from gru4rec import GRU4Rec

    train = pd.read_csv("train.tsv", sep="\\t")
    model = GRU4Rec(loss="cross-entropy", layers=[100], n_epochs=10).fit(train)
    model.evaluate(test, cutoffs=[5, 20])      # {'recall@5': ..., 'mrr@20': ..., ...}
    ids, scores = model.recommend(["214536502", "214662819"], k=10)
    model.save("model.g4r")                    # the same file as `gru4rec train -s`
    same = GRU4Rec.load("model.g4r")

Parameters are those of `gru4rec train` (reference section 2 of the project's docs), by the
same names and with the same validation; errors are ValueError with the library's message.
"""
import json
import os
import tempfile

import numpy as np

from . import _gru4rec

__all__ = ["GRU4Rec", "Session", "Baseline", "baseline_names", "prepare", "preset_names", "split"]


def baseline_names():
    return _gru4rec.baseline_names()


def preset_names():
    """The named preparations of prepare(): the datasets of the GRU4Rec papers."""
    return _gru4rec.preset_names()


def prepare(inputs, output_dir, preset=None, skip_bad_lines=False, **layout):
    """Raw click logs to train_full.tsv, test.tsv, train_tr.tsv, train_valid.tsv and
    stats.json in `output_dir`, as `gru4rec prepare` does; returns the statistics (a dict).

    inputs: a path or a list of paths (gzip and zstd read directly). preset: one of
    preset_names(), or None for a generic layout given by keywords: item_column, time_column,
    and session_column (sessions given) or user_column (sessions cut at gap_minutes of
    inactivity); optional format ("csv", "tsv", "jsonl"), separator, header, type_column,
    keep_types, events_array, time_format ("unix-s", "unix-ms", "iso8601"), gap_minutes,
    dedupe, min_session_length, min_item_support, test_days, split_time, split_by.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    inputs = [os.fspath(p) for p in inputs]
    for path in inputs:
        if path != "-" and not os.path.exists(path):
            raise FileNotFoundError(path)
    text = _gru4rec.prepare(inputs, os.fspath(output_dir), preset or "", bool(skip_bad_lines),
                            layout)
    return json.loads(text)


def split(train, train_out, valid_out, valid_share=0.1):
    """Cuts the last sessions of the training file `train` (by start time; file order for
    equal times) into a validation file, whole sessions only, as `gru4rec split` does: for
    tuning without the test data. Validation events of items unknown to the training part are
    dropped, then sessions left with one event. Returns the counts (a dict)."""
    train = os.fspath(train)
    if not os.path.exists(train):
        raise FileNotFoundError(train)
    return _gru4rec.split(train, os.fspath(train_out), os.fspath(valid_out), float(valid_share))


def _value_text(name, value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if name == "layers" and not isinstance(value, (int, np.integer, str)):
        return "/".join(str(int(size)) for size in value)
    return str(value)


def _param_string(params):
    known = set(_gru4rec.param_names())
    for name in params:
        if name not in known:
            raise ValueError(f"unknown parameter '{name}'; expected one of: {', '.join(sorted(known))}")
    return ",".join(f"{name}={_value_text(name, value)}" for name, value in params.items())


def _cutoff_list(cutoffs):
    """The cut-offs as a list of ints: one int or an iterable of them."""
    if isinstance(cutoffs, int):
        return [cutoffs]
    return [int(c) for c in cutoffs]


def _columns(data, session_key, item_key, time_key):
    """(sessions, items, times) arrays from a DataFrame, a dict of columns or a 3-tuple."""
    if isinstance(data, tuple):
        if len(data) != 3:
            raise ValueError("expected (session ids, item ids, times)")
        columns = data
    else:
        if hasattr(data, "columns"):
            present = list(data.columns)
        elif isinstance(data, dict):
            present = list(data.keys())
        else:
            raise TypeError(f"expected a pandas DataFrame, a dict of columns or a tuple of arrays; got {type(data).__name__}")
        missing = [key for key in (session_key, item_key, time_key) if key not in present]
        if missing:
            raise ValueError(f"missing column(s) {missing}; the data has {present} "
                             "(name them with session_key=, item_key=, time_key=)")
        columns = (data[session_key], data[item_key], data[time_key])
    arrays = tuple(np.asarray(column) for column in columns)
    if len(arrays[0]) == 0:
        raise ValueError("the data has no events")
    return arrays


def _progress_callback(progress):
    """(callable or None, close function) for fit's `progress` argument."""
    if progress is None or progress is False:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    try:
        from tqdm import tqdm
    except ImportError:
        return None, lambda: None
    bars = {}

    def update(p):
        bar = bars.get(p["epoch"])
        if bar is None:
            bar = bars[p["epoch"]] = tqdm(total=p["events_total"], unit="events",
                                          desc=f"epoch {p['epoch']}/{p['n_epochs']}")
        bar.n = p["events_done"]
        bar.set_postfix(loss=f"{p['loss']:.4f}")
        if p["epoch_end"]:
            bar.close()

    return update, lambda: [bar.close() for bar in bars.values()]


class _Fitted:
    """What models and baselines share once fitted: the evaluation and recommendations of the
    native object in self._native (None until fitted; _unfitted says what to call)."""

    _native = None
    _unfitted = "not fitted: call fit()"

    def evaluate(self, data, cutoffs=(20,), mode="standard", session_key="SessionId",
                 item_key="ItemId", time_key="Time"):
        """The official next-item evaluation: {'recall@N', 'mrr@N', 'ndcg@N', ...}."""
        sessions, items, times = _columns(data, session_key, item_key, time_key)
        return self._fitted().evaluate(sessions, items, times, _cutoff_list(cutoffs), mode)

    def recommend(self, items, k=20, exclude=()):
        """The top-k item ids after the session `items` (oldest first), and their scores."""
        return self._fitted().recommend([str(i) for i in items], int(k), [str(i) for i in exclude])

    def _fitted(self):
        if self._native is None:
            raise RuntimeError(self._unfitted)
        return self._native


class GRU4Rec(_Fitted):
    """A GRU4Rec model: construct with the training parameters, then fit, or load a file."""

    _unfitted = "the model is not trained: call fit() or GRU4Rec.load()"

    def __init__(self, **params):
        self._param_string = _param_string(params)
        _gru4rec.check_params(self._param_string)  # ValueError on a bad name or value

    def fit(self, data, session_key="SessionId", item_key="ItemId", time_key="Time",
            valid=None, early_stop=0, eval_every=1, stop_metric=None, cutoffs=(20,),
            mode="standard", progress=None, init=None, init_shrink=0.5, replay=None,
            replay_share=0.5):
        """Trains on the events of `data` (one row per event); returns self.

        init: a fitted GRU4Rec to continue (as `gru4rec train --init`): its parameters are the
        defaults of this training (those given to the constructor override them, except the
        ones that shape the network: layers, embedding, constrained_embedding), its items keep
        their vectors, items first seen in `data` are added, its GRU layers' weights are multiplied
        by `init_shrink` (0 < init_shrink <= 1; 1 keeps them: the default 0.5 makes daily
        updates generalise like a retraining, see docs/continued-training.md) and its
        optimizer state carries on (a model trained in this process, or saved with
        optimizer_state=True). replay: with init, older events (same columns as `data`; the
        whole history will do: sessions also in `data` are skipped), of which a uniform sample of
        sessions, `replay_share` times as many as `data` has, is trained on before `data`'s (as
        `gru4rec train --replay`; docs/continued-training.md).

        valid: validation events (same columns as `data`), evaluated every `eval_every` epochs
        and after the last one; the results are in `validation_history` (one dict per
        validation: epoch, metrics keyed as evaluate()'s, best). early_stop: stop after this
        many validations without a better `stop_metric` ("recall@N", "mrr@N" or "ndcg@N", N
        one of `cutoffs`; default MRR at the last cut-off) and keep the best epoch's model;
        0 trains every epoch and keeps the last.
        progress: None (quiet), True (a tqdm bar when tqdm is installed, else quiet), or a
        callable receiving dicts (epoch, n_epochs, events_done, events_total, seconds, loss,
        epoch_end). Ctrl-C stops the training with KeyboardInterrupt; the model is unchanged.
        """
        sessions, items, times = _columns(data, session_key, item_key, time_key)
        if early_stop and valid is None:
            raise ValueError("early_stop needs validation data (valid=)")
        valid_columns = None
        if valid is not None:
            valid_columns = _columns(valid, session_key, item_key, time_key)
        replay_columns = None
        if replay is not None:
            if init is None:
                raise ValueError("replay needs init (a model to continue)")
            replay_columns = _columns(replay, session_key, item_key, time_key)
        parent = None
        if init is not None:
            if not isinstance(init, GRU4Rec):
                raise TypeError("init must be a fitted GRU4Rec model")
            parent = init._fitted()
        callback, close = _progress_callback(progress)
        try:
            self._native, self.validation_history = _gru4rec.Model.fit(
                self._param_string, sessions, items, times, callback, valid_columns,
                _cutoff_list(cutoffs), str(mode), stop_metric or "", int(early_stop),
                int(eval_every), parent, float(init_shrink), replay_columns,
                float(replay_share))
        finally:
            close()
        return self

    def recommend_batch(self, sessions, k=20):
        """recommend() for many sessions: (ids, scores) arrays of len(sessions) x k (None and
        NaN where the catalog has fewer than k items)."""
        return self._fitted().recommend_batch([[str(i) for i in s] for s in sessions], int(k))

    def session_vectors(self, sessions):
        """The last GRU layer's state after each session (a list of item id lists): an array
        of len(sessions) x units; zeros for a session without an item the model knows."""
        return self._fitted().session_vectors([[str(i) for i in s] for s in sessions])

    def session(self):
        """A live session: add(item) each event, then recommend(k)."""
        return Session(self._fitted().session())

    def save(self, path, optimizer_state=True):
        """Writes the model file (atomically), by default with the optimizer's state (the Adagrad
        accumulators and momentum), as `gru4rec train -s` does, so that a training continued
        from the file (fit(init=GRU4Rec.load(...)) or `gru4rec train --init`) goes on where this
        one stopped; optimizer_state=False writes the weights only (a file 2 to 3 times
        smaller; a continuation then restarts Adagrad from zero)."""
        self._fitted().save(os.fspath(path), bool(optimizer_state))

    @classmethod
    def load(cls, path):
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(path)
        model = cls.__new__(cls)
        model._native = _gru4rec.Model.load(path)
        model._param_string = ",".join(f"{k}={v}" for k, v in model._native.params().items())
        return model

    @property
    def params(self):
        return self._fitted().params()

    @property
    def item_ids(self):
        return self._fitted().item_ids()

    @property
    def item_embeddings(self):
        """The output item vectors (one row per item of item_ids), a read-only view."""
        return self._fitted().item_vectors()


class Session:
    """One visitor's session on a model: `add(item)` per event (False for an item the model
    does not know: the state is unchanged), then `recommend(k)`; before any known event, the
    most popular items."""

    def __init__(self, native):
        self._native = native

    def add(self, item):
        return self._native.add(str(item))

    def recommend(self, k=20, exclude=()):
        return self._native.recommend(int(k), [str(i) for i in exclude])

    @property
    def events(self):
        return self._native.events


class Baseline(_Fitted):
    """A simple recommender evaluated like GRU4Rec: pop, spop, itemknn, vsknn, sr, stan or
    vstan, with the parameters of `gru4rec baseline -p` (e.g. Baseline("vsknn", k=100,
    sample_size=1000)); or hybrid, the session's own items first (by count) and then a trained
    model's ranking: Baseline("hybrid", model=m), m a fitted GRU4Rec or a model file's path."""

    _unfitted = "the baseline is not fitted: call fit()"

    def __init__(self, algorithm, **params):
        if algorithm not in _gru4rec.baseline_names():
            raise ValueError(f"unknown baseline '{algorithm}'; expected one of: "
                             f"{', '.join(_gru4rec.baseline_names())}")
        self._algorithm = algorithm
        self._model = params.pop("model", None) if algorithm == "hybrid" else None
        if algorithm == "hybrid" and self._model is None:
            raise ValueError("hybrid needs model=: a fitted GRU4Rec or a model file's path")
        self._params = ",".join(f"{k}={v}" for k, v in params.items())

    def fit(self, data, session_key="SessionId", item_key="ItemId", time_key="Time"):
        sessions, items, times = _columns(data, session_key, item_key, time_key)
        if self._model is None:
            self._native = _gru4rec.Baseline(self._algorithm, self._params, sessions, items, times)
            return self
        if not isinstance(self._model, GRU4Rec):
            path = os.fspath(self._model)
            if "," in path:
                raise ValueError(f"hybrid: the model path may not hold ',': {path}")
            self._native = _gru4rec.Baseline("hybrid", f"model={path}", sessions, items, times)
            return self
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.gru4rec")
            self._model.save(path, optimizer_state=False)
            self._native = _gru4rec.Baseline("hybrid", f"model={path}", sessions, items, times)
        return self

    @property
    def description(self):
        return self._fitted().description()
