"""Save Model through the server extension: it spawns the bundled save client (node/save-cli.mjs)
against the real backend and relays its NDJSON events; answers are remembered in .trainyard/model.json."""
import json
import shutil

import pytest
from tornado.httpclient import HTTPClientError

from conftest import EXAMPLE, ndjson


@pytest.fixture
def workspace(jp_root_dir):
    dest = jp_root_dir / "eta"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".trainyard", "__pycache__"))
    return dest


async def save(jp_fetch, body):
    res = await jp_fetch("trainyard", "save", method="POST", body=json.dumps(body))
    assert res.headers["Content-Type"] == "application/x-ndjson"
    return ndjson(res.body)


async def test_save_records_a_version_and_remembers_the_answers(jp_fetch, workspace, backend):
    events = await save(jp_fetch, {"notebook": "eta/notebook.ipynb", "model": "eta-nb", "python": "/no/such/python"})
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "result", events
    assert "progress" in kinds
    progress = [e["message"] for e in events if e["type"] == "progress"]
    assert any("notebook.ipynb becomes .trainyard/notebooks/train.py" in m for m in progress), progress
    assert any("no base image" in m for m in progress), progress
    version = events[-1]["version"]
    assert version["model"] == "eta-nb"
    listed = backend.api("GET", "/v1/models/eta-nb/versions")["items"]
    assert [v["label"] for v in listed] == [version["label"]]
    remembered = json.loads((workspace / ".trainyard" / "model.json").read_text())
    assert remembered == {"model": "eta-nb", "entrypoints": {"train": "notebook.ipynb"}}

    # the second save needs no answers: they come from .trainyard/model.json
    again = await save(jp_fetch, {"notebook": "eta/notebook.ipynb"})
    assert again[-1]["type"] == "result" and again[-1]["version"]["model"] == "eta-nb"
    preview = ndjson((await jp_fetch("trainyard", "workspace", params={"notebook": "eta/notebook.ipynb"})).body)[-1]
    assert preview["type"] == "workspace" and preview["remembered"]["model"] == "eta-nb"
    assert "train.py" in preview["files"]


async def test_a_dotenv_is_refused_with_the_file_named(jp_fetch, workspace):
    (workspace / ".env").write_text("API_KEY=abc\n")
    events = await save(jp_fetch, {"notebook": "eta/notebook.ipynb", "model": "eta-nb"})
    assert events[-1]["type"] == "refused", events
    assert events[-1]["secrets"][0]["file"] == ".env"
    assert ".env" in events[-1]["secrets"][0]["rule"]
    assert not (workspace / ".trainyard" / "model.json").exists()


async def test_a_content_secret_names_the_line(jp_fetch, workspace):
    (workspace / "keys.py").write_text("x = 1\n-----BEGIN RSA PRIVATE KEY-----\n")
    events = await save(jp_fetch, {"notebook": "eta/notebook.ipynb", "model": "eta-nb"})
    assert events[-1]["type"] == "refused", events
    assert events[-1]["secrets"] == [{"file": "keys.py", "line": 2, "rule": events[-1]["secrets"][0]["rule"]}]


async def test_a_bad_model_name_is_explained(jp_fetch, workspace):
    events = await save(jp_fetch, {"notebook": "eta/notebook.ipynb", "model": "Bad Name"})
    assert events[-1]["type"] == "error"
    assert "model" in events[-1]["message"]


async def test_no_model_and_nothing_remembered_asks_for_one(jp_fetch, workspace):
    events = await save(jp_fetch, {"notebook": "eta/notebook.ipynb"})
    assert events[-1]["type"] == "error" and "no model name" in events[-1]["message"]


async def test_a_notebook_outside_the_root_is_refused(jp_fetch, workspace):
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("trainyard", "save", method="POST", body=json.dumps({"notebook": "../../etc/x.ipynb", "model": "eta-nb"}))
    assert e.value.code == 400
    assert "outside the Jupyter root" in json.loads(e.value.response.body)["error"]["message"]


async def test_save_without_a_jupyter_token_is_403(jp_serverapp, http_server, jp_http_port, jp_base_url):
    from tornado.httpclient import AsyncHTTPClient

    with pytest.raises(HTTPClientError) as e:
        await AsyncHTTPClient().fetch(f"http://127.0.0.1:{jp_http_port}{jp_base_url}trainyard/save", method="POST", body="{}")
    assert e.value.code == 403
