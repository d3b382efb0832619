"""The Python package against the gru4rec command: same model bytes, same evaluation, and
clear exceptions for bad input."""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import gru4rec
from gru4rec import GRU4Rec

CLI = os.environ.get("GRU4REC_CLI", "build/cli/gru4rec")
PARAMS = dict(loss="cross-entropy", layers=[24], n_epochs=2, batch_size=16, n_sample=32,
              threads=1, seed=7)
PARAM_STRING = "loss=cross-entropy,layers=24,n_epochs=2,batch_size=16,n_sample=32,threads=1,seed=7"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    subprocess.run([CLI, "synth", str(folder), "--items", "120", "--sessions", "600"],
                   check=True, capture_output=True)
    train = pd.read_csv(folder / "train.tsv", sep="\t")
    test = pd.read_csv(folder / "test.tsv", sep="\t")
    return folder, train, test


def test_fit_on_a_dataframe_gives_the_cli_models_bytes(data, tmp_path):
    folder, train, _ = data
    model = GRU4Rec(**PARAMS).fit(train)
    model.save(tmp_path / "python.g4r")
    subprocess.run([CLI, "train", str(folder / "train.tsv"), "-s", str(tmp_path / "cli.g4r"),
                    "--ps", PARAM_STRING, "-q", "--progress", "none"], check=True,
                   capture_output=True)
    assert (tmp_path / "python.g4r").read_bytes() == (tmp_path / "cli.g4r").read_bytes()
    # Arrays and string ids give the same model as the DataFrame's integer ids.
    again = GRU4Rec(**PARAMS).fit((train.SessionId.astype(str).to_numpy(),
                                   train.ItemId.astype(str).to_numpy(), train.Time.to_numpy()))
    again.save(tmp_path / "strings.g4r")
    assert (tmp_path / "strings.g4r").read_bytes() == (tmp_path / "cli.g4r").read_bytes()


def test_early_stopping_keeps_the_best_epoch_as_the_cli_does(data, tmp_path):
    folder, train, test = data
    # A high learning rate makes later epochs worse: early stopping has something to do.
    params = dict(PARAMS, n_epochs=6, learning_rate=0.5)
    cli_params = PARAM_STRING.replace("n_epochs=2", "n_epochs=6") + ",learning_rate=0.5"
    model = GRU4Rec(**params).fit(train, valid=test, early_stop=1, cutoffs=[5, 20],
                                  stop_metric="recall@5")
    model.save(tmp_path / "python.g4r")
    out = subprocess.run([CLI, "train", str(folder / "train.tsv"), "-s", str(tmp_path / "cli.g4r"),
                          "--ps", cli_params, "-q", "--progress", "none", "--json",
                          "--valid", str(folder / "test.tsv"), "--early-stop", "1",
                          "--stop-metric", "recall@5", "-m", "5", "20"],
                         check=True, capture_output=True, text=True)
    cli_history = json.loads(out.stdout)["validation"]
    history = model.validation_history
    assert [h["epoch"] for h in history] == [h["epoch"] for h in cli_history]
    assert [h["best"] for h in history] == [h["best"] for h in cli_history]
    for mine, theirs in zip(history, cli_history):
        assert mine["metrics"]["recall@5"] == pytest.approx(theirs["metrics"]["recall@5"],
                                                            abs=1e-12)
    assert (tmp_path / "python.g4r").read_bytes() == (tmp_path / "cli.g4r").read_bytes()
    # The model kept is the best validation's: evaluated again, the same figure.
    best = [h for h in history if h["best"]][-1]
    assert model.evaluate(test, cutoffs=[5, 20])["recall@5"] == best["metrics"]["recall@5"]
    with pytest.raises(ValueError, match="valid"):
        GRU4Rec(**params).fit(train, early_stop=2)
    with pytest.raises(ValueError, match="cut-offs"):
        GRU4Rec(**params).fit(train, valid=test, early_stop=2, stop_metric="mrr@7")


def test_evaluate_equals_the_cli_and_recommend_is_consistent(data, tmp_path):
    folder, train, test = data
    model = GRU4Rec(**PARAMS).fit(train)
    model.save(tmp_path / "m.g4r")
    got = model.evaluate(test, cutoffs=[5, 20])
    out = subprocess.run([CLI, "eval", str(tmp_path / "m.g4r"), str(folder / "test.tsv"),
                          "-m", "5", "20", "--json"], check=True, capture_output=True, text=True)
    expected = json.loads(out.stdout)["evaluations"][0]
    for key in ("recall@5", "mrr@5", "recall@20", "mrr@20", "ndcg@20"):
        assert got[key] == pytest.approx(expected["metrics"][key], abs=1e-12), key
    assert got["predictions"] == expected["predictions"]
    # A loaded model recommends what the trained one does; excluded items never come back.
    loaded = GRU4Rec.load(tmp_path / "m.g4r")
    session = [str(i) for i in test.ItemId[:3]]
    ids, scores = model.recommend(session, k=10)
    ids2, scores2 = loaded.recommend(session, k=10)
    assert list(ids) == list(ids2) and np.array_equal(scores, scores2)
    assert len(ids) == 10 and np.all(np.diff(scores) <= 0)
    ids3, _ = model.recommend(session, k=10, exclude=ids[:2])
    assert ids[0] not in list(ids3) and ids[1] not in list(ids3)
    # The item vectors: a read-only view, one row per item.
    vectors = loaded.item_embeddings
    assert vectors.shape == (len(loaded.item_ids), 24)
    assert not vectors.flags.writeable
    assert loaded.params["layers"] == "24"


def test_bad_input_raises_clear_exceptions(data, tmp_path):
    _, train, _ = data
    with pytest.raises(ValueError, match="unknown parameter 'layer'"):
        GRU4Rec(layer=100)
    with pytest.raises(ValueError, match="loss"):
        GRU4Rec(loss="nope")
    model = GRU4Rec(**PARAMS)
    with pytest.raises(ValueError, match="missing column"):
        model.fit(train.drop(columns=["Time"]))
    with pytest.raises(ValueError, match="no events"):
        model.fit(train.iloc[:0])
    with_nan = train.copy()
    with_nan.loc[3, "ItemId"] = np.nan  # the column becomes float64
    with pytest.raises(ValueError, match="NaN"):
        model.fit(with_nan)
    objects = train.astype({"ItemId": object})
    objects.loc[5, "ItemId"] = 1.5
    with pytest.raises(ValueError, match="row 5"):
        model.fit(objects)
    bad_times = train.copy()
    bad_times["Time"] = "yesterday"
    with pytest.raises(ValueError, match="times"):
        model.fit(bad_times)
    with pytest.raises(TypeError):
        model.fit([1, 2, 3])
    with pytest.raises(RuntimeError, match="not trained"):
        model.recommend(["1"])
    with pytest.raises(FileNotFoundError):
        GRU4Rec.load(tmp_path / "missing.g4r")
    (tmp_path / "broken.g4r").write_bytes(b"not a model")
    with pytest.raises(ValueError):
        GRU4Rec.load(tmp_path / "broken.g4r")


def test_sessions_batches_and_the_servers_answers_agree(data, tmp_path):
    import re
    import time
    import urllib.request
    from gru4rec import Session  # noqa: F401 (public name)
    _, train, test = data
    model = GRU4Rec(**PARAMS).fit(train)
    model.save(tmp_path / "m.g4r")
    items = [str(i) for i in test.ItemId[:4]]
    live = model.session()
    ids0, scores0 = live.recommend(k=5)  # no event yet: the most popular items
    assert list(scores0) == sorted(scores0, reverse=True)
    for item in items:
        assert live.add(item)
    assert not live.add("no-such-item") and live.events == 4
    ids, scores = live.recommend(k=8)
    ids1, scores1 = model.recommend(items, k=8)
    assert list(ids) == list(ids1) and np.array_equal(scores, scores1)
    batch_ids, batch_scores = model.recommend_batch([items, items[:1]], k=8)
    assert batch_ids.shape == (2, 8) and batch_scores.shape == (2, 8)
    assert list(batch_ids[0]) == list(ids)
    assert list(batch_ids[1]) == list(model.recommend(items[:1], k=8)[0])
    # The server's answer for the same items (its scorer kernel differs only in rounding).
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([CLI, "serve", str(tmp_path / "m.g4r"), "--port", "0"],
                              stderr=log, stdout=log)
    try:
        port = None
        for _ in range(200):
            found = re.search(r"on http://127\.0\.0\.1:(\d+)", open(tmp_path / "serve.log").read())
            if found:
                port = int(found.group(1))
                break
            time.sleep(0.05)
        assert port, open(tmp_path / "serve.log").read()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/recommend",
            data=json.dumps({"items": items, "k": 8}).encode(),
            headers={"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=10).read())
    finally:
        server.kill()
        server.wait()
    assert [r["item"] for r in answer["recommendations"]] == list(ids)
    assert [r["score"] for r in answer["recommendations"]] == pytest.approx(list(scores), rel=1e-5)


def test_baselines_evaluate_like_the_cli(data):
    from gru4rec import Baseline, baseline_names
    folder, train, test = data
    assert baseline_names() == ["pop", "spop", "itemknn", "vsknn", "sr", "stan", "vstan",
                                "hybrid"]
    knn = Baseline("vsknn", k=50).fit(train)
    got = knn.evaluate(test, cutoffs=[20])
    out = subprocess.run([CLI, "baseline", str(folder / "train.tsv"), "-t", str(folder / "test.tsv"),
                          "--algo", "vsknn", "-p", "vsknn:k=50", "--json"],
                         check=True, capture_output=True, text=True)
    expected = json.loads(out.stdout)["baselines"][0]["evaluations"][0]["metrics"]
    assert got["recall@20"] == pytest.approx(expected["recall@20"], abs=1e-12)
    assert got["mrr@20"] == pytest.approx(expected["mrr@20"], abs=1e-12)
    ids, _ = knn.recommend([str(i) for i in test.ItemId[:2]], k=5)
    assert len(ids) == 5
    with pytest.raises(ValueError, match="unknown baseline"):
        Baseline("lstm")
    with pytest.raises(ValueError):
        Baseline("vsknn", no_such_param=1).fit(train)


def test_hybrid_baseline_is_the_cli_session_items_first(data, tmp_path):
    from gru4rec import Baseline
    folder, train, test = data
    model = GRU4Rec(**PARAMS).fit(train)
    model.save(tmp_path / "m.g4r")
    out = subprocess.run([CLI, "eval", str(tmp_path / "m.g4r"), str(folder / "test.tsv"),
                          "--session-items-first", "--json"],
                         check=True, capture_output=True, text=True)
    expected = json.loads(out.stdout)["evaluations"][0]["metrics"]
    for source in (model, tmp_path / "m.g4r"):
        got = Baseline("hybrid", model=source).fit(train).evaluate(test, cutoffs=[20])
        assert got["recall@20"] == pytest.approx(expected["recall@20"], abs=1e-3)
        assert got["mrr@20"] == pytest.approx(expected["mrr@20"], abs=1e-3)
    hybrid = Baseline("hybrid", model=model).fit(train)
    session = [str(i) for i in test.ItemId[:3]]
    ids, _ = hybrid.recommend(session, k=5)
    assert ids[0] in session
    with pytest.raises(ValueError, match="needs model"):
        Baseline("hybrid")


def test_progress_and_interruption(data):
    import signal
    import threading
    _, train, _ = data
    seen = []
    GRU4Rec(**PARAMS).fit(train, progress=seen.append)
    ends = [p for p in seen if p["epoch_end"]]
    assert [p["epoch"] for p in ends] == [1, 2] and all(p["loss"] > 0 for p in ends)

    def stop(p):
        raise RuntimeError("stopped by the callback")

    model = GRU4Rec(**PARAMS)
    with pytest.raises(RuntimeError, match="stopped by the callback"):
        model.fit(train, progress=stop)
    with pytest.raises(RuntimeError, match="not trained"):
        model.recommend(["1"])
    # Ctrl-C during a long training: KeyboardInterrupt, soon.
    long = dict(PARAMS, n_epochs=5000)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = __import__("time").monotonic()
    with pytest.raises(KeyboardInterrupt):
        GRU4Rec(**long).fit(train)
    timer.cancel()
    assert __import__("time").monotonic() - started < 30


def test_installs_into_a_virtual_environment_offline(tmp_path):
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    venv = tmp_path / "venv"
    subprocess.run([os.path.join(root, "scripts", "python-install.sh"), str(venv)], check=True,
                   capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import gru4rec, numpy; from gru4rec import GRU4Rec; GRU4Rec(layers=[8]); "
         "print(gru4rec.__file__); "
         "print([l.split()[-1] for l in open('/proc/self/maps') if 'libgru4rec' in l][0])"],
        check=True, capture_output=True, text=True, env=env, cwd=tmp_path)
    package, library = out.stdout.split()
    assert package.startswith(str(venv)) and library.startswith(str(venv))


def test_prepare_writes_what_the_cli_writes(data, tmp_path):
    folder, _, _ = data
    raw = folder / "train.tsv"
    stats = gru4rec.prepare(raw, tmp_path / "py", format="tsv", session_column="SessionId",
                            item_column="ItemId", time_column="Time", min_item_support=2,
                            test_days=3)
    subprocess.run([CLI, "prepare", str(raw), "-o", str(tmp_path / "cli"), "--format", "tsv",
                    "--session-col", "SessionId", "--item-col", "ItemId", "--time-col", "Time",
                    "--min-item-support", "2", "--test-days", "3"],
                   check=True, capture_output=True)
    for name in ("train_full", "test", "train_tr", "train_valid"):
        mine = (tmp_path / "py" / f"{name}.tsv").read_bytes()
        assert mine == (tmp_path / "cli" / f"{name}.tsv").read_bytes(), name
        assert stats["outputs"][name]["events"] == mine.count(b"\n") - 1, name
    assert stats["outputs"]["test"]["events"] > 0
    assert "yoochoose" in gru4rec.preset_names()
    with pytest.raises(ValueError, match="unknown option 'item_col'"):
        gru4rec.prepare(raw, tmp_path / "bad", item_col="ItemId")
    with pytest.raises(ValueError, match="item_column and time_column"):
        gru4rec.prepare(raw, tmp_path / "bad", session_column="SessionId")
    with pytest.raises(FileNotFoundError):
        gru4rec.prepare(tmp_path / "missing.csv", tmp_path / "bad", preset="yoochoose")


def test_exported_vectors_read_back_with_numpy_and_pandas(data, tmp_path):
    folder, train, test = data
    model = GRU4Rec(**PARAMS).fit(train)
    model.save(tmp_path / "m.g4r")
    subprocess.run([CLI, "export", str(tmp_path / "m.g4r"), "--items", str(tmp_path / "i.npy")],
                   check=True, capture_output=True)
    vectors = np.load(tmp_path / "i.npy")
    ids = (tmp_path / "i.ids.txt").read_text().splitlines()
    assert ids == list(model.item_ids)
    assert vectors.dtype == np.float32
    assert np.array_equal(vectors, model.item_embeddings)
    subprocess.run([CLI, "export", str(tmp_path / "m.g4r"), "--items", str(tmp_path / "i.tsv")],
                   check=True, capture_output=True)
    table = pd.read_csv(tmp_path / "i.tsv", sep="\t", dtype={"ItemId": str})
    assert list(table.ItemId) == ids
    assert np.array_equal(table.iloc[:, 1:].to_numpy(np.float32), vectors)
    # Session vectors: predict's file against the package's, session by session.
    subprocess.run([CLI, "predict", str(tmp_path / "m.g4r"), str(folder / "test.tsv"),
                    "-o", str(tmp_path / "p.tsv"), "--session-vectors", str(tmp_path / "s.npy")],
                   check=True, capture_output=True)
    by_cli = dict(zip((tmp_path / "s.ids.txt").read_text().splitlines(),
                      np.load(tmp_path / "s.npy")))
    sessions = test.groupby("SessionId", sort=False).ItemId.apply(list)
    mine = model.session_vectors(list(sessions))
    assert mine.shape == (len(sessions), 24)
    assert len(by_cli) == len(sessions)
    for session_id, vector in zip(sessions.index, mine):
        assert np.array_equal(by_cli[str(session_id)], vector), session_id
    # A session of unknown items only: zeros.
    assert not model.session_vectors([["no-such-item"]]).any()


def test_fit_init_continues_a_model_as_the_cli_does(data, tmp_path):
    folder, train, _ = data
    # Yesterday's model (saved with its optimizer state), then today's events with a new item.
    sessions = train.SessionId.unique()
    first = train[train.SessionId.isin(sessions[:400])]
    today = train[train.SessionId.isin(sessions[400:])].copy()
    today["ItemId"] = today.ItemId.astype(str)
    new_item = pd.DataFrame({"SessionId": [10**9] * 2, "ItemId": [today.ItemId.iloc[0], "brand-new"],
                             "Time": [today.Time.max() + 1, today.Time.max() + 2]})
    today = pd.concat([today, new_item], ignore_index=True)
    today.to_csv(tmp_path / "today.tsv", sep="\t", index=False)
    yesterday = GRU4Rec(**PARAMS).fit(first)
    yesterday.save(tmp_path / "yesterday.g4r", optimizer_state=True)
    # Only the epochs given: the other parameters are the parent's.
    continued = GRU4Rec(n_epochs=1).fit(today, init=yesterday)
    assert continued.params["layers"] == yesterday.params["layers"]
    assert continued.params["n_epochs"] == "1"
    ids = list(continued.item_ids)
    assert ids[:len(yesterday.item_ids)] == list(yesterday.item_ids)
    assert "brand-new" in ids and "brand-new" not in yesterday.item_ids
    subprocess.run([CLI, "train", str(tmp_path / "today.tsv"), "--init",
                    str(tmp_path / "yesterday.g4r"), "--ps", "n_epochs=1", "-s",
                    str(tmp_path / "cli.g4r"), "-q", "--progress", "none"], check=True,
                   capture_output=True)
    by_cli = GRU4Rec.load(tmp_path / "cli.g4r")
    assert list(by_cli.item_ids) == ids
    assert np.array_equal(by_cli.item_embeddings, continued.item_embeddings)
    # A parameter that would change the network's shape is refused.
    with pytest.raises(ValueError, match="layers"):
        GRU4Rec(layers=[32]).fit(today, init=yesterday)
    with pytest.raises(TypeError, match="init"):
        GRU4Rec(n_epochs=1).fit(today, init="yesterday.g4r")
    with pytest.raises(ValueError, match="init_shrink"):
        GRU4Rec(n_epochs=1).fit(today, init=yesterday, init_shrink=0)


def _first_today_and_yesterdays_model(train, tmp_path):
    """The first 400 sessions, the next 100 (both also as TSV files first.tsv, today.tsv) and a
    model of the first ones saved with its optimizer state as yesterday.g4r."""
    sessions = train.SessionId.unique()
    first = train[train.SessionId.isin(sessions[:400])]
    today = train[train.SessionId.isin(sessions[400:500])]
    first.to_csv(tmp_path / "first.tsv", sep="\t", index=False)
    today.to_csv(tmp_path / "today.tsv", sep="\t", index=False)
    yesterday = GRU4Rec(**PARAMS).fit(first)
    yesterday.save(tmp_path / "yesterday.g4r", optimizer_state=True)
    return first, today, yesterday


def test_fit_replay_draws_the_sessions_the_cli_draws(data, tmp_path):
    folder, train, _ = data
    first, today, yesterday = _first_today_and_yesterdays_model(train, tmp_path)
    # The whole history (first and today) as replay: today's sessions are not drawn again.
    history = pd.concat([first, today], ignore_index=True)
    continued = GRU4Rec(n_epochs=1).fit(today, init=yesterday, replay=history, replay_share=0.5)
    plain = GRU4Rec(n_epochs=1).fit(today, init=yesterday)
    assert not np.array_equal(plain.item_embeddings, continued.item_embeddings)
    run = subprocess.run([CLI, "train", str(tmp_path / "today.tsv"), "--init",
                          str(tmp_path / "yesterday.g4r"), "--replay", str(tmp_path / "first.tsv"),
                          "--ps", "n_epochs=1", "-s", str(tmp_path / "cli.g4r"), "-q",
                          "--progress", "none"], check=True, capture_output=True, text=True)
    assert "Replaying 50 sessions" in run.stderr + run.stdout
    by_cli = GRU4Rec.load(tmp_path / "cli.g4r")
    assert np.array_equal(by_cli.item_embeddings, continued.item_embeddings)
    with pytest.raises(ValueError, match="replay needs init"):
        GRU4Rec(n_epochs=1).fit(today, replay=history)


def test_average_epochs_the_recommended_daily_update_as_the_cli_trains_it(data, tmp_path):
    folder, train, _ = data
    first, today, yesterday = _first_today_and_yesterdays_model(train, tmp_path)
    averaged = GRU4Rec(n_epochs=3, average_epochs=2).fit(today, init=yesterday, replay=first,
                                                         replay_share=1)
    assert averaged.params["average_epochs"] == "2"
    last = GRU4Rec(n_epochs=3).fit(today, init=yesterday, replay=first, replay_share=1)
    assert not np.array_equal(last.item_embeddings, averaged.item_embeddings)
    subprocess.run([CLI, "train", str(tmp_path / "today.tsv"), "--init",
                    str(tmp_path / "yesterday.g4r"), "--replay", str(tmp_path / "first.tsv"),
                    "--replay-share", "1", "--ps", "n_epochs=3,average_epochs=2", "-s",
                    str(tmp_path / "cli.g4r"), "-q", "--progress", "none"], check=True,
                   capture_output=True)
    assert np.array_equal(GRU4Rec.load(tmp_path / "cli.g4r").item_embeddings,
                          averaged.item_embeddings)
    # Early stopping keeps one epoch's weights: refused with averaging, nothing saved.
    run = subprocess.run([CLI, "train", str(folder / "train.tsv"), "--valid",
                          str(folder / "test.tsv"), "--early-stop", "2", "--ps",
                          "n_epochs=3,average_epochs=2", "-s", str(tmp_path / "stop.g4r"), "-q",
                          "--progress", "none"], capture_output=True, text=True)
    assert run.returncode != 0
    assert "average_epochs=2 and early stopping" in run.stderr
    assert not (tmp_path / "stop.g4r").exists()


def test_long_calls_release_the_gil(data):
    """Training and evaluation run without the GIL: other Python threads go on meanwhile (a
    call that held it would stop them until it returned)."""
    import threading
    import time

    _, train, test = data
    for name, call in [
        ("fit", lambda: GRU4Rec(**dict(PARAMS, n_epochs=120)).fit(train)),
        ("evaluate", lambda: [trained.evaluate(test, cutoffs=[20]) for _ in range(400)]),
    ]:
        if name == "evaluate":
            trained = GRU4Rec(**PARAMS).fit(train)
        done = threading.Event()
        times = {}

        def work():
            times["start"] = time.perf_counter()
            call()
            times["end"] = time.perf_counter()
            done.set()

        worker = threading.Thread(target=work)
        worker.start()
        ticks = []  # when this thread got through a slice of pure Python work
        while not done.is_set():
            sum(range(2000))
            ticks.append(time.perf_counter())
        worker.join()
        span = times["end"] - times["start"]
        inside = [t for t in ticks if times["start"] + 0.05 < t < times["end"] - 0.05]
        assert span > 0.3, f"{name} was too quick ({span:.2f} s) to tell"
        # Python's switch interval is 5 ms: a thread that gets the GIL only between calls would
        # tick a handful of times; one that runs alongside ticks every few microseconds.
        assert len(inside) > 200, f"{name}: {len(inside)} ticks in {span:.2f} s"


def test_split_writes_what_the_cli_writes(data, tmp_path):
    folder, _, _ = data
    counts = gru4rec.split(folder / "train.tsv", tmp_path / "tr.tsv", tmp_path / "va.tsv",
                           valid_share=0.2)
    subprocess.run([CLI, "split", str(folder / "train.tsv"), "--train-out",
                    str(tmp_path / "cli_tr.tsv"), "--valid-out", str(tmp_path / "cli_va.tsv"),
                    "--valid-share", "0.2"], check=True, capture_output=True)
    assert open(tmp_path / "tr.tsv").read() == open(tmp_path / "cli_tr.tsv").read()
    assert open(tmp_path / "va.tsv").read() == open(tmp_path / "cli_va.tsv").read()
    train = pd.read_csv(tmp_path / "tr.tsv", sep="\t")
    valid = pd.read_csv(tmp_path / "va.tsv", sep="\t")
    assert counts["train_events"] == len(train) and counts["valid_events"] == len(valid)
    # Whole sessions, the later ones, with items the training part knows.
    assert not set(train.SessionId) & set(valid.SessionId)
    assert train.groupby("SessionId").Time.min().max() <= valid.groupby("SessionId").Time.min().min()
    assert set(valid.ItemId) <= set(train.ItemId)
    assert valid.groupby("SessionId").size().min() >= 2
    with pytest.raises(Exception, match="validation share"):
        gru4rec.split(folder / "train.tsv", tmp_path / "a.tsv", tmp_path / "b.tsv", valid_share=1.5)


def test_the_repeat_head_in_sessions_batches_and_evaluation(data, tmp_path):
    _, train, test = data
    model = GRU4Rec(**PARAMS, repeat_window=5).fit(train)
    model.save(tmp_path / "r.g4r")
    again = GRU4Rec.load(tmp_path / "r.g4r")
    items = [str(i) for i in test.ItemId[:4]]
    live = again.session()
    for item in items:
        live.add(item)
    ids, scores = live.recommend(k=8)
    assert list(ids) == list(again.recommend(items, k=8)[0])
    assert list(again.recommend_batch([items], k=8)[0][0]) == list(ids)
    out = subprocess.run([CLI, "eval", str(tmp_path / "r.g4r"), str(data[0] / "test.tsv"),
                          "--json"], check=True, capture_output=True, text=True).stdout
    cli = json.loads(out)["evaluations"][0]
    assert again.evaluate(test)["recall@20"] == pytest.approx(cli["metrics"]["recall@20"])
    assert again.evaluate(test)["mrr@20"] == pytest.approx(cli["metrics"]["mrr@20"])
