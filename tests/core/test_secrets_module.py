"""azoai.secrets: keys cross a pickle encrypted with this process tree's key; credential objects
stay in memory; a process outside the tree gets nothing readable."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

from pydantic import SecretStr

from azoai.secrets import SEAL_KEY_ENV, keep, recall, seal, unseal


def test_sealed_secrets_pickle_as_ciphertext_and_come_back_in_this_tree() -> None:
    sealed = seal(SecretStr("KEY-0123456789"))
    data = pickle.dumps(sealed)
    assert b"KEY-0123456789" not in data and "KEY-0123456789" not in repr(sealed)
    back = unseal(pickle.loads(data))
    assert back is not None and back.get_secret_value() == "KEY-0123456789"
    assert os.environ.get(SEAL_KEY_ENV)


def test_a_process_outside_the_tree_cannot_unseal() -> None:
    data = pickle.dumps(seal(SecretStr("KEY-0123456789")))
    code = "import pickle,sys; from azoai.secrets import unseal; print(unseal(pickle.loads(sys.stdin.buffer.read())))"
    env = {k: v for k, v in os.environ.items() if k != SEAL_KEY_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, env=env, check=True
    ).stdout
    assert out.strip() == b"None"
    # a child of this process (which inherits the environment) can
    same = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, check=True
    ).stdout
    assert b"**********" in same  # SecretStr prints masked, but it was recovered


def test_kept_objects_never_enter_the_pickle() -> None:
    class Cred:
        token = "TOKEN-abcdef"

    cred = Cred()
    data = pickle.dumps(keep(cred))
    assert b"TOKEN-abcdef" not in data
    assert recall(pickle.loads(data)) is cred
    assert recall("plain") == "plain" and unseal("plain") is None and seal(None) is None


def test_preparing_a_key_is_cheap_and_the_key_seals() -> None:
    """Models prepare the tree's key at construction (workers must inherit it); that must not
    load cryptography (about 7 MB and tens of ms), and the key must be a valid Fernet key."""
    code = (
        "import os, sys, pickle\n"
        "from pydantic import SecretStr\n"
        "from azoai.secrets import SEAL_KEY_ENV, prepare, seal, unseal\n"
        "prepare()\n"
        "key = os.environ[SEAL_KEY_ENV]\n"
        "assert 'cryptography' not in sys.modules\n"
        "prepare()\n"
        "assert os.environ[SEAL_KEY_ENV] == key  # made once per process tree\n"
        "back = unseal(pickle.loads(pickle.dumps(seal(SecretStr('KEY-42')))))\n"
        "print(back.get_secret_value(), os.environ[SEAL_KEY_ENV] == key)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != SEAL_KEY_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, check=True, text=True
    ).stdout
    assert out.split() == ["KEY-42", "True"]
