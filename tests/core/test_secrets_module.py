"""azoai.config.secrets: keys cross a pickle encrypted with a key derived from multiprocessing's authkey;
credential objects stay in memory, once each and only while they live; nothing goes into
os.environ; a process outside the tree gets nothing readable."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from azoai.config.secrets import keep, kept, recall, seal, unseal

SECRET = "KEY-0123456789"


def _unseal_in_child(data: bytes) -> str | None:
    back = unseal(pickle.loads(data))
    return back.get_secret_value() if back is not None else None


def test_sealed_secrets_pickle_as_ciphertext_and_never_touch_the_environment() -> None:
    environ = dict(os.environ)
    sealed = seal(SecretStr(SECRET))
    data = pickle.dumps(sealed)
    assert SECRET.encode() not in data and SECRET not in repr(sealed)
    back = unseal(pickle.loads(data))
    assert back is not None and back.get_secret_value() == SECRET
    assert dict(os.environ) == environ  # no key of any kind was published to child processes


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_workers_of_this_tree_unseal(method: str) -> None:
    """multiprocessing hands its authkey to the children it starts (fork: memory; spawn and
    forkserver: its own pipe), so pool workers read what this process sealed."""
    data = pickle.dumps(seal(SecretStr(SECRET)))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
        assert pool.submit(_unseal_in_child, data).result(timeout=60) == SECRET


def test_a_subprocess_child_cannot_unseal_a_pickle_from_disk(tmp_path: Path) -> None:
    """A plain child process (it inherits the whole environment) reads only ciphertext."""
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(seal(SecretStr(SECRET))))
    code = (
        "import pickle, sys\n"
        "from azoai.config.secrets import unseal\n"
        "print(unseal(pickle.loads(open(sys.argv[1], 'rb').read())))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, check=True, text=True
    ).stdout
    assert out.strip() == "None"


class Cred:
    token = "TOKEN-abcdef"


class Slotted:
    """A credential that cannot be weakly referenced."""

    __slots__ = ("token",)

    def __init__(self) -> None:
        self.token = "TOKEN-slotted"


class Owner:
    """Stands for the model carrying a credential."""


def test_kept_objects_never_enter_the_pickle_and_come_back_here() -> None:
    cred = Cred()
    data = pickle.dumps(keep(cred))
    assert b"TOKEN-abcdef" not in data
    assert recall(pickle.loads(data)) is cred
    assert recall("plain") == "plain" and unseal("plain") is None and seal(None) is None


def test_a_thousand_pickles_of_one_credential_are_one_entry_that_dies_with_it() -> None:
    gc.collect()
    base = kept()
    cred = Cred()
    owner = Owner()
    handles = [pickle.dumps(keep(cred, owner=owner)) for _ in range(1000)]
    assert len(set(handles)) == 1  # the same object, the same handle
    assert kept() == base + 1
    del cred
    gc.collect()
    assert kept() == base
    assert recall(pickle.loads(handles[0])) is None


def test_an_object_without_weak_references_lives_as_long_as_its_owners() -> None:
    gc.collect()
    base = kept()
    cred = Slotted()
    first, second = Owner(), Owner()
    handle = keep(cred, owner=first)
    assert keep(cred, owner=second) is not None and kept() == base + 1
    assert keep(Slotted()) is None  # no owner to end it: not kept (the copy is built without it)
    del first
    gc.collect()
    assert recall(handle) is cred  # one owner still carries it
    del second
    gc.collect()
    assert kept() == base and recall(handle) is None
