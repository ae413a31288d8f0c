"""Tests of dlcli.data: loaders against tiny files in the real formats, look-up, errors, transforms."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest

try:
    from tests import datafiles
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    import datafiles
from dlcli import data
from dlcli.data import files, transforms
from dlcli.errors import DlcliError


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No network, an empty Keras home, no DLCLI_DATA_DIR from the caller's shell."""
    monkeypatch.setenv("DLCLI_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("DLCLI_DATA_DIR", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("tests must not use the network")

    monkeypatch.setattr(files, "urlopen", no_network)


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw(path: Path) -> dict:
    with np.load(path, allow_pickle=True) as f:
        return {k: f[k] for k in f.files}


# Independent re-implementations of keras.datasets (plain python, as Keras' source does it).

def keras_encode(seqs, num_words):
    seqs = [[1] + [w + 3 for w in s] for s in seqs]
    return [[w if 0 <= w < num_words else 2 for w in s] for s in seqs]


def keras_imdb(path, num_words):
    f = raw(path)
    rng = np.random.RandomState(113)
    idx = np.arange(len(f["x_train"]))
    rng.shuffle(idx)
    x_train, y_train = f["x_train"][idx], f["y_train"][idx]
    idx = np.arange(len(f["x_test"]))
    rng.shuffle(idx)
    x_test, y_test = f["x_test"][idx], f["y_test"][idx]
    return keras_encode(x_train, num_words), y_train, keras_encode(x_test, num_words), y_test


def keras_reuters(path, num_words):
    f = raw(path)
    idx = np.arange(len(f["x"]))
    np.random.RandomState(113).shuffle(idx)
    xs, labels = keras_encode(f["x"][idx], num_words), f["y"][idx]
    cut = int(len(xs) * (1 - 0.2))
    return xs[:cut], labels[:cut], xs[cut:], labels[cut:]


def as_lists(x):
    return [list(s) for s in x]


# names / describe / unknown

def test_names_sorted_and_described():
    assert data.names() == ["boston", "cifar10", "diabetes", "digits", "fashion-mnist", "imdb", "mnist", "nietzsche",
                            "reuters", "sinwave", "sp500", "spa-eng", "xor"]
    for name in data.names():
        text = data.describe(name)
        assert text and "\n" not in text


def test_unknown_dataset():
    with pytest.raises(DlcliError) as e:
        data.load("foo")
    assert str(e.value) == ("unknown dataset 'foo'; choose one of: boston, cifar10, diabetes, digits, fashion-mnist, "
                            "imdb, mnist, nietzsche, reuters, sinwave, sp500, spa-eng, xor")
    with pytest.raises(DlcliError):
        data.describe("nope")


def test_name_spelling_variants():
    assert data.load("XOR").name == "xor"


# images

def test_mnist(folder):
    path = datafiles.write_mnist(folder, n_train=64, n_test=16)
    ds = data.load("mnist", data_dir=folder)
    f = raw(path)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert getattr(ds, key).dtype == np.uint8
        np.testing.assert_array_equal(getattr(ds, key), f[key])
    assert ds.x_train.shape == (64, 28, 28) and ds.x_test.shape == (16, 28, 28)
    assert (ds.task, ds.kind, ds.input_shape, ds.num_classes) == ("multiclass", "images", (28, 28), 10)
    assert ds.class_names == [str(i) for i in range(10)] and ds.vocabulary is None
    assert ds.source == str(path) and Path(ds.source).is_absolute()
    assert ds.checksum == sha(path)


def test_fashion_mnist(folder):
    sub = datafiles.write_fashion_mnist(folder, n_train=60, n_test=20)
    ds = data.load("fashion-mnist", data_dir=folder)
    import gzip

    def idx(name, offset):
        return np.frombuffer(gzip.open(sub / name).read(), np.uint8, offset=offset)

    np.testing.assert_array_equal(ds.y_train, idx("train-labels-idx1-ubyte.gz", 8))
    np.testing.assert_array_equal(ds.x_train, idx("train-images-idx3-ubyte.gz", 16).reshape(60, 28, 28))
    np.testing.assert_array_equal(ds.y_test, idx("t10k-labels-idx1-ubyte.gz", 8))
    np.testing.assert_array_equal(ds.x_test, idx("t10k-images-idx3-ubyte.gz", 16).reshape(20, 28, 28))
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.uint8
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.checksum == sha(sub / "train-images-idx3-ubyte.gz")
    assert ds.source.count("fashion-mnist/") == 4


def expected_cifar():
    batches = {k: pickle.loads(v, encoding="bytes") for k, v in datafiles.cifar_batches().items()}

    def images(names):
        flat = np.concatenate([batches[n][b"data"] for n in names])
        out = np.empty((len(flat), 32, 32, 3), np.uint8)
        for i, row in enumerate(flat):  # one image at a time: R plane, G plane, B plane
            for c in range(3):
                out[i, :, :, c] = row[c * 1024:(c + 1) * 1024].reshape(32, 32)
        return out

    def labels(names):
        return np.array([v for n in names for v in batches[n][b"labels"]], np.uint8)

    train = datafiles.CIFAR_BATCHES[:5]
    return images(train), labels(train), images(["test_batch"]), labels(["test_batch"])


def check_cifar(ds):
    x_train, y_train, x_test, y_test = expected_cifar()
    assert ds.x_train.shape == (30, 32, 32, 3) and ds.x_test.shape == (8, 32, 32, 3)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.uint8 and ds.y_train.shape == (30,)
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.x_test, x_test)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert ds.class_names == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert ds.input_shape == (32, 32, 3)


def test_cifar10_folder(folder):
    sub = datafiles.write_cifar10(folder)
    ds = data.load("cifar10", data_dir=folder)
    check_cifar(ds)
    assert ds.source == str(sub) and ds.checksum == sha(sub / "data_batch_1")


@pytest.mark.parametrize("name,mode", [
    ("cifar-10-batches-py.tar.gz", "w:gz"), ("cifar-10-batches-py.tar.xz", "w:xz"),
    ("cifar-10-batches-py.tar.bz2", "w:bz2"), ("cifar-10-batches-py.tar", "w"),
    ("cifar-10-python.tar.gz", "w:gz"), ("cifar-10-batches-py-target_archive", "w:gz"),
])
def test_cifar10_archive_read_without_extracting(folder, name, mode):
    path = datafiles.write_cifar10_archive(folder, name=name, mode=mode)
    before = sorted(p.name for p in folder.rglob("*"))
    ds = data.load("cifar10", data_dir=folder)
    check_cifar(ds)
    assert ds.source == str(path) and ds.checksum == sha(path)
    assert sorted(p.name for p in folder.rglob("*")) == before  # nothing extracted


def test_cifar10_folder_preferred_over_archive(folder):
    datafiles.write_cifar10_archive(folder)
    sub = datafiles.write_cifar10(folder)
    assert data.load("cifar10", data_dir=folder).source == str(sub)


# sequences

def test_imdb_matches_keras_algorithm(folder):
    path = datafiles.write_imdb(folder, n_train=40, n_test=30, vocab_size=60)
    ds = data.load("imdb", data_dir=folder)
    x_train, y_train, x_test, y_test = keras_imdb(path, 10000)
    assert ds.x_train.dtype == object and ds.x_train.shape == (40,) and ds.x_test.shape == (30,)
    assert as_lists(ds.x_train) == x_train and as_lists(ds.x_test) == x_test
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert all(type(w) is int for s in ds.x_train for w in s)
    assert all(s[0] == 1 for s in ds.x_train) and min(w for s in ds.x_train for w in s[1:]) >= 4
    assert (ds.task, ds.kind, ds.input_shape, ds.num_classes, ds.class_names) == ("binary", "sequences", (), 2, ["negative", "positive"])
    assert ds.vocabulary["w1"] == 4 and ds.vocabulary["w60"] == 63 and len(ds.vocabulary) == 60
    assert ds.checksum == sha(path) and str(path) in ds.source and "imdb_word_index.json" in ds.source


def test_imdb_shuffle_is_seed_113(folder):
    path = datafiles.write_imdb(folder)
    f = raw(path)
    order = np.arange(len(f["x_train"]))
    np.random.RandomState(113).shuffle(order)
    ds = data.load("imdb", data_dir=folder)
    assert ds.x_train[0] == [1] + [w + 3 for w in f["x_train"][order[0]]]


def test_imdb_num_words_and_oov(folder):
    path = datafiles.write_imdb(folder, vocab_size=60)
    ds = data.load("imdb", data_dir=folder, num_words=20)
    x_train, _, x_test, _ = keras_imdb(path, 20)
    assert as_lists(ds.x_train) == x_train and as_lists(ds.x_test) == x_test
    flat = [w for s in ds.x_train for w in s]
    assert max(flat) == 19 and 2 in flat


def test_reuters_matches_keras_algorithm(folder):
    path = datafiles.write_reuters(folder, n=57, vocab_size=80)
    for num_words, expected in ((None, keras_reuters(path, 10000)), (30, keras_reuters(path, 30))):
        ds = data.load("reuters", data_dir=folder, num_words=num_words)
        assert len(ds.x_train) == int(57 * 0.8) == 45 and len(ds.x_test) == 12
        assert as_lists(ds.x_train) == expected[0] and as_lists(ds.x_test) == expected[2]
        np.testing.assert_array_equal(ds.y_train, expected[1])
        np.testing.assert_array_equal(ds.y_test, expected[3])
    assert ds.num_classes == 46 and len(ds.class_names) == 46 and ds.class_names[3] == "earn" and ds.class_names[45] == "lead"
    assert ds.vocabulary["w1"] == 4 and ds.task == "multiclass"


# tabular and embedded

def test_boston(folder):
    path = datafiles.write_boston(folder, n=506)
    f = raw(path)
    order = np.arange(506)
    np.random.RandomState(113).shuffle(order)
    ds = data.load("boston", data_dir=folder)
    assert ds.x_train.shape == (404, 13) and ds.x_test.shape == (102, 13)
    np.testing.assert_array_equal(ds.x_train, f["x"][order[:404]])
    np.testing.assert_array_equal(ds.x_test, f["x"][order[404:]])
    np.testing.assert_array_equal(ds.y_train, f["y"][order[:404]].astype(np.float32))
    assert ds.y_train.dtype == np.float32 and ds.task == "regression" and ds.num_classes is None and ds.class_names is None
    assert ds.input_shape == (13,)


def test_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    ds = data.load("digits")
    bunch = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(bunch.images, bunch.target, test_size=0.2, random_state=113, stratify=bunch.target)
    assert ds.x_train.shape == (1437, 8, 8) and ds.x_test.shape == (360, 8, 8) and ds.input_shape == (8, 8)
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert ds.x_train.max() == 16 and ds.x_train.dtype == np.float32
    assert ds.num_classes == 10 and ds.source == "embedded:sklearn.load_digits" and ds.checksum is None
    assert np.array_equal(data.load("digits").y_train, ds.y_train)  # deterministic


def test_diabetes():
    ds = data.load("diabetes")
    assert ds.x_train.shape == (353, 10) and ds.x_test.shape == (89, 10)
    assert ds.y_train.dtype == np.float32 and ds.task == "regression" and ds.num_classes is None


def test_xor():
    ds = data.load("xor")
    np.testing.assert_array_equal(ds.x_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1, 0])
    np.testing.assert_array_equal(ds.x_test, ds.x_train)
    np.testing.assert_array_equal(ds.y_test, ds.y_train)
    assert ds.task == "binary" and ds.num_classes == 2


def test_write_all_loads_everything(folder):
    datafiles.write_all(folder)
    for name in data.names():
        ds = data.load(name, data_dir=folder, limit=3)
        assert len(ds.x_train) == len(ds.y_train) == 3, name
        assert len(ds.x_test) == len(ds.y_test) <= 3, name
        assert len(ds.x_test) >= 1 or ds.kind in ("text", "series"), name  # a text or series is split by the command


# limit / num_words validation

def test_limit_keeps_first_samples_after_shuffle(folder):
    datafiles.write_imdb(folder)
    full = data.load("imdb", data_dir=folder)
    part = data.load("imdb", data_dir=folder, limit=5)
    assert as_lists(part.x_train) == as_lists(full.x_train[:5]) and as_lists(part.x_test) == as_lists(full.x_test[:5])
    np.testing.assert_array_equal(part.y_train, full.y_train[:5])
    datafiles.write_mnist(folder)
    assert data.load("mnist", data_dir=folder, limit=1000).x_train.shape == (64, 28, 28)
    assert data.load("mnist", data_dir=folder, limit=7).x_test.shape == (7, 28, 28)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_limit_and_num_words(bad):
    with pytest.raises(DlcliError, match="--limit"):
        data.load("xor", limit=bad)
    with pytest.raises(DlcliError, match="--num-words"):
        data.load("xor", num_words=bad)


# look-up order

def test_lookup_order(tmp_path, monkeypatch):
    explicit, env, cache = tmp_path / "explicit", tmp_path / "env", tmp_path / "keras_home" / "datasets"
    for seed, where in enumerate((explicit, env, cache)):
        datafiles.write_mnist(where, seed=seed)
    monkeypatch.setenv("DLCLI_DATA_DIR", str(env))
    assert data.load("mnist", data_dir=explicit).source == str(explicit / "mnist.npz")
    assert data.load("mnist").source == str(env / "mnist.npz")
    (env / "mnist.npz").rename(env / "moved.npz")
    assert data.load("mnist").source == str(cache / "mnist.npz")
    monkeypatch.delenv("DLCLI_DATA_DIR")
    assert data.load("mnist").source == str(cache / "mnist.npz")
    # a file missing from data_dir is still found in the Keras cache
    assert data.load("mnist", data_dir=tmp_path / "env").source == str(cache / "mnist.npz")


def test_keras_home_default_is_home_dot_keras(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.keras_cache_dir() == tmp_path / ".keras" / "datasets"


def test_missing_data_dir_is_an_error(tmp_path):
    with pytest.raises(DlcliError, match="does not exist"):
        data.load("mnist", data_dir=tmp_path / "nope")


# missing, offline, download

def test_offline_missing_file_message(folder, tmp_path):
    with pytest.raises(files.DatasetFileNotFound) as e:
        data.load("mnist", data_dir=folder)
    msg = str(e.value)
    assert "\n" not in msg and isinstance(e.value, DlcliError)
    assert "'mnist.npz'" in msg and str(folder) in msg and str(tmp_path / "keras_home" / "datasets") in msg
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in msg
    assert "DLCLI_OFFLINE" in msg and "--data-dir" in msg
    assert not (tmp_path / "keras_home").exists()  # nothing created


def test_missing_word_index_is_reported(folder):
    datafiles.write_imdb(folder)
    (folder / "imdb_word_index.json").unlink()
    with pytest.raises(DlcliError, match="imdb_word_index.json"):
        data.load("imdb", data_dir=folder)


def test_cifar_missing_names_origin(folder):
    with pytest.raises(DlcliError, match=r"cifar-10-batches-py.tar.gz.*https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"):
        data.load("cifar10", data_dir=folder)


def test_download_false(folder, monkeypatch):
    monkeypatch.delenv("DLCLI_OFFLINE")
    with pytest.raises(DlcliError, match="downloads are off"):
        data.load("boston", data_dir=folder, download=False)


def fake_urlopen(source: Path, calls: list):
    """An urlopen that serves `source` through urllib's file: handler and records its arguments."""
    import urllib.request

    def opener(request, timeout=None):
        calls.append((request.full_url, timeout))
        return urllib.request.urlopen(source.as_uri(), timeout=timeout)

    return opener


def test_download_streams_into_keras_cache(tmp_path, monkeypatch):
    source = datafiles.write_boston(tmp_path / "origin")
    calls, seen = [], []
    monkeypatch.delenv("DLCLI_OFFLINE")
    monkeypatch.setattr(files, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(files, "urlopen", fake_urlopen(source, calls))
    ds = data.load("boston", progress=lambda done, total: seen.append((done, total)))
    target = tmp_path / "keras_home" / "datasets" / "boston_housing.npz"
    assert ds.source == str(target) and sha(target) == sha(source)
    assert calls == [("https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz", files.TIMEOUT_S)]
    size = source.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size) and len(seen) > 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert sorted(p.name for p in target.parent.iterdir()) == ["boston_housing.npz"]  # no temp file left
    calls.clear()
    data.load("boston")  # now cached: no second download
    assert calls == []


def test_fashion_download_goes_to_subfolder(tmp_path, monkeypatch):
    sub = datafiles.write_fashion_mnist(tmp_path / "origin")
    monkeypatch.delenv("DLCLI_OFFLINE")
    import urllib.request

    monkeypatch.setattr(files, "urlopen", lambda req, timeout=None: urllib.request.urlopen((sub / req.full_url.rsplit("/", 1)[1]).as_uri()))
    ds = data.load("fashion-mnist")
    assert (tmp_path / "keras_home" / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert len(ds.y_test) == 20


def test_download_failure_message_and_cleanup(tmp_path, monkeypatch):
    def refuse(request, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("DLCLI_OFFLINE")
    monkeypatch.setattr(files, "urlopen", refuse)
    with pytest.raises(DlcliError) as e:
        data.load("mnist")
    msg = str(e.value)
    assert "download failed" in msg and "Temporary failure in name resolution" in msg and "\n" not in msg
    assert "mnist.npz" in msg and "--data-dir" in msg
    assert list((tmp_path / "keras_home" / "datasets").iterdir()) == []


def test_truncated_download_is_not_kept(tmp_path, monkeypatch):
    source = datafiles.write_boston(tmp_path / "origin")

    class Short:
        headers = {"Content-Length": str(source.stat().st_size)}

        def __init__(self):
            self.parts = [source.read_bytes()[:100]]

        def read(self, n):
            return self.parts.pop() if self.parts else b""

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.delenv("DLCLI_OFFLINE")
    monkeypatch.setattr(files, "urlopen", lambda req, timeout=None: Short())
    with pytest.raises(DlcliError, match="100 of"):
        data.load("boston")
    assert list((tmp_path / "keras_home" / "datasets").iterdir()) == []


# corrupt files, and the user's files are never touched

def corrupt_cases(folder: Path):
    """(dataset, path of the damaged file) after damaging one file per format."""
    mnist = folder / "mnist.npz"
    mnist.write_bytes(b"this is not a zip file")
    yield "mnist", mnist
    np.savez(mnist, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, np.uint8))  # keys missing
    yield "mnist", mnist
    np.savez(mnist, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))  # lengths differ
    yield "mnist", mnist
    sub = datafiles.write_fashion_mnist(folder)
    gz = sub / "train-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])  # truncated gzip
    yield "fashion-mnist", gz
    datafiles.write_fashion_mnist(folder)
    img = sub / "t10k-images-idx3-ubyte.gz"
    import gzip

    img.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 40))  # wrong magic (labels)
    yield "fashion-mnist", img
    cifar = datafiles.write_cifar10(folder)
    (cifar / "data_batch_3").write_bytes(b"cos\nsystem\n(S'echo hacked'\ntR.")  # malicious pickle
    yield "cifar10", cifar / "data_batch_3"
    tar = datafiles.write_cifar10_archive(folder / "archive_only")
    tar.write_bytes(tar.read_bytes()[:300])
    yield ("cifar10", tar)
    datafiles.write_imdb(folder)
    index = folder / "imdb_word_index.json"
    index.write_text("{not json")
    yield "imdb", index
    reuters = datafiles.write_reuters(folder)
    reuters.write_bytes(reuters.read_bytes()[:200])
    yield "reuters", reuters


def test_corrupt_files(folder, monkeypatch):
    for name, damaged in corrupt_cases(folder):
        data_dir = damaged.parent if name == "cifar10" and damaged.name.endswith("tar.gz") else folder
        before, mtime = sha(damaged), damaged.stat().st_mtime_ns
        with pytest.raises(files.CorruptDatasetFile) as e:
            data.load(name, data_dir=data_dir)
        msg = str(e.value)
        assert str(damaged) in msg and "corrupt" in msg and "download it again" in msg and "\n" not in msg, msg
        assert damaged.exists() and sha(damaged) == before and damaged.stat().st_mtime_ns == mtime


def test_malicious_object_array_refused(folder):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo hacked",))

    x = np.empty(1, dtype=object)
    x[0] = Evil()
    np.savez(folder / "reuters.npz", x=x, y=np.zeros(1, np.int64))
    (folder / "reuters_word_index.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(files.CorruptDatasetFile, match="refusing to load"):
        data.load("reuters", data_dir=folder)


def test_user_files_untouched_after_offline_load(folder):
    paths = datafiles.write_all(folder)
    everything = [p for p in folder.rglob("*") if p.is_file()]
    before = {p: (sha(p), p.stat().st_mtime_ns) for p in everything}
    for name in paths:
        data.load(name, data_dir=folder)
    assert {p: (sha(p), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()} == before


def test_no_keras_or_tensorflow_import():
    code = "import sys, dlcli.data as d; d.load('xor'); assert not {'keras', 'tensorflow'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# transforms

def test_multi_hot_matches_course_loop():
    seqs = [[1, 4, 4, 9], [], [0, 2], list(range(10))]
    expected = np.zeros((4, 10))
    for i, s in enumerate(seqs):
        expected[i, s] = 1.0
    out = transforms.multi_hot(seqs, 10)
    assert out.dtype == np.float32 and out.shape == (4, 10)
    np.testing.assert_array_equal(out, expected)
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = [1, 2], [3]
    np.testing.assert_array_equal(transforms.multi_hot(obj, 4), [[0, 1, 1, 0], [0, 0, 0, 1]])
    assert transforms.multi_hot([], 5).shape == (0, 5)
    with pytest.raises(DlcliError, match="12"):
        transforms.multi_hot([[1, 12]], 10)


def test_scale_images():
    out = transforms.scale_images(np.array([[0, 255, 51]], np.uint8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 1, 0.2]])
    np.testing.assert_allclose(transforms.scale_images(np.array([16.0, 8.0]), max_value=16), [1, 0.5])


def test_standardize_uses_training_statistics():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    test = np.array([[5.0, 7.0]])
    train_std, test_std, mean, std = transforms.standardize(train, test)
    np.testing.assert_allclose(mean, [2, 5])
    np.testing.assert_allclose(std, [1, 1])  # second column constant: divided by 1
    np.testing.assert_allclose(train_std, [[-1, 0], [1, 0]])
    np.testing.assert_allclose(test_std, [[3, 2]])
    assert train_std.dtype == np.float32 and np.isfinite(train_std).all()
    assert len(transforms.standardize(train)) == 3


def test_decode_review_like_the_course(folder):
    datafiles.write_imdb(folder)
    ds = data.load("imdb", data_dir=folder)
    raw_index = json.loads((folder / "imdb_word_index.json").read_text())
    reverse = {v: k for k, v in raw_index.items()}
    course = " ".join(reverse.get(i - 3, "?") for i in ds.x_train[0])
    assert transforms.decode_review(ds.x_train[0], ds.vocabulary) == course
    assert transforms.decode_review(ds.x_train[0], raw_index, index_from=3) == course
    assert transforms.decode_review([1, 2, 4, 999], {"w1": 4}) == "? ? w1 ?"


def test_one_validation_split_rounds_as_keras():
    """Every command cuts its validation samples here: the training part is floor(n (1 - f)), as
    Keras' validation_split, so 10 samples at 0.15 hold out 2 (8/2) whichever command asks."""
    assert transforms.validation_count(10, 0.15) == 2
    assert transforms.validation_count(60_000, 0.1) == 6000 and transforms.validation_count(5, 0) == 0
    x, y = np.arange(10), np.arange(10) * 10
    (train, _), (held, held_y) = transforms.hold_out(x, y, 2, option="--validation 0.15")
    assert list(train) == list(range(8)) and list(held) == [8, 9] and list(held_y) == [80, 90]  # the last, as Keras
    (train, _), (held, _) = transforms.hold_out(x, y, 3, first=True, option="--validation-samples 3")
    assert list(held) == [0, 1, 2] and list(train) == list(range(3, 10))  # the first, as the course's x_train[:N]
    assert transforms.hold_out(x, y, 0, option="--validation 0") == ((x, y), None)
    with pytest.raises(DlcliError, match="--validation-samples 10 leaves no training data out of 10"):
        transforms.hold_out(x, y, 10, first=True, option="--validation-samples 10")


def test_one_image_preparation():
    grey = np.full((2, 8, 8), 16, dtype=np.uint8)
    assert transforms.prepare_images(grey, "digits").shape == (2, 8, 8, 1)
    assert transforms.prepare_images(grey, "digits").max() == 1.0  # digits count 0..16
    flat = transforms.prepare_images(np.full((2, 28, 28), 255, dtype=np.uint8), "mnist", channel_axis=False)
    assert flat.shape == (2, 28, 28) and flat.dtype == np.float32 and flat.max() == 1.0
    colour = transforms.prepare_images(np.zeros((2, 32, 32, 3), dtype=np.uint8), "cifar10")
    assert colour.shape == (2, 32, 32, 3)  # colour images keep their channels
