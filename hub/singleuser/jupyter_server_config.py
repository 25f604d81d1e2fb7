"""A sandboxed notebook server's settings: no files to the browser, outputs capped, no
terminals, no nbconvert.

`campus.hub.spawner.SandboxSpawner` points JUPYTER_CONFIG_DIR here (read-only inside the
sandbox) and sets JUPYTERHUB_DISABLE_USER_CONFIG and PYTHONNOUSERSITE, so nothing in the
researcher's home can change these. ``labconfig/page_config.json`` beside this file
disables and locks JupyterLab's download and export plugins. ``migrated`` is jupyter_core's
marker: without it a server whose home has ``~/.ipython`` (any home after its first
kernel) tries to write here, and fails to start.

The contents API serves folders and notebooks only, never another file's body, and
every output reaches the browser within a screenful's caps (`campus.hub.screen`): in every
sealed session, rows are for reading, and files leave only through the airlock. What a
determined person can still copy by hand is in ``hub/README.md``.
"""

from jupyterhub.singleuser.extension import JupyterHubAuthorizer

c = get_config()  # noqa: F821  (Jupyter provides it)


class CampusServerAuthorizer(JupyterHubAuthorizer):
    """JupyterHub's check, and for everyone (admins too): no nbconvert, no terminals."""

    refused = frozenset({"nbconvert", "terminals"})

    def is_authorized(self, handler, user, action, resource):
        if resource in self.refused:
            self.log.warning("Refused %s on %s for %s: not available in a campus session", action, resource,
                             user.username)
            return False
        return super().is_authorized(handler, user, action, resource)


c.ServerApp.authorizer_class = CampusServerAuthorizer
c.ServerApp.terminals_enabled = False
c.ServerApp.jpserver_extensions = {"jupyter_server_terminals": False}
c.ServerApp.contents_manager_class = "campus.hub.screen.ReadingContentsManager"
c.ServerApp.kernel_websocket_connection_class = "campus.hub.screen.ScreenedConnection"
c.ContentsManager.files_handler_class = None  # no /files/: downloads and "open in a new tab" get 404
c.LabApp.extension_manager = "readonly"  # no installing extensions from the UI
c.LabApp.news_url = None
