"""Where the backend URL and token come from: traitlets, then environment, then the data home's token file (local URLs only)."""
import pytest

from trainyard_jupyterlab.config import Trainyard


@pytest.fixture
def env(monkeypatch, tmp_path):
    for k in ("TRAINYARD_URL", "TRAINYARD_TOKEN", "TRAINYARD_HOME"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("TRAINYARD_HOME", str(tmp_path))
    (tmp_path / "token").write_text("file-token\n")
    return monkeypatch


def test_defaults_to_the_local_backend_and_its_token_file(env):
    t = Trainyard()
    assert t.backend_url() == "http://127.0.0.1:7878"
    assert t.backend_token() == "file-token"


def test_environment_overrides(env):
    env.setenv("TRAINYARD_URL", "http://10.0.0.5:7878/")
    env.setenv("TRAINYARD_TOKEN", "env-token")
    t = Trainyard()
    assert t.backend_url() == "http://10.0.0.5:7878"
    assert t.backend_token() == "env-token"


def test_traitlets_win_over_the_environment(env):
    env.setenv("TRAINYARD_URL", "http://10.0.0.5:7878")
    env.setenv("TRAINYARD_TOKEN", "env-token")
    t = Trainyard(url="http://backend.internal:80", token="cfg-token")
    assert (t.backend_url(), t.backend_token()) == ("http://backend.internal:80", "cfg-token")


def test_a_remote_url_never_reads_the_local_token_file(env):
    assert Trainyard(url="http://backend.internal:7878").backend_token() == ""


def test_node_is_at_least_22(env):
    from trainyard_jupyterlab.config import _node_major

    assert _node_major(Trainyard().node_binary()) >= 22
