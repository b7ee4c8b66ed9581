"""Trainyard in JupyterLab: the prebuilt labextension plus a thin server extension.

The server extension only forwards /trainyard/api/* to the Trainyard backend (the token
stays server-side) and spawns the bundled TypeScript save client (node/save-cli.mjs)
where the files are. All product logic lives in TypeScript.
"""
from .config import Trainyard
from .handlers import setup_handlers

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "trainyard-jupyterlab"}]


def _jupyter_server_extension_points():
    return [{"module": "trainyard_jupyterlab"}]


def _load_jupyter_server_extension(server_app):
    config = Trainyard(parent=server_app)
    setup_handlers(server_app.web_app, config, server_app.log)
    server_app.log.info("trainyard: forwarding /trainyard/api to %s", config.backend_url())
