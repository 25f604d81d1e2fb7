"""A sandboxed notebook server's settings: no file downloads, no terminals, no nbconvert.

`campus.hub.spawner.SandboxSpawner` points JUPYTER_CONFIG_DIR here (read-only inside the
sandbox) and sets JUPYTERHUB_DISABLE_USER_CONFIG and PYTHONNOUSERSITE, so nothing in the
researcher's home can change these. ``labconfig/page_config.json`` beside this file
disables and locks JupyterLab's download and export plugins. ``migrated`` is jupyter_core's
marker: without it a server whose home has ``~/.ipython`` (any home after its first
kernel) tries to write here, and fails to start.

What this does not stop: the contents API (``/api/contents``) still returns every file in
the home (the editor needs it), and a kernel can print anything it can read. That is why
the kernel reads data only through the data service, which applies the policy.
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
c.ContentsManager.files_handler_class = None  # no /files/: downloads and "open in a new tab" get 404
c.LabApp.extension_manager = "readonly"  # no installing extensions from the UI
c.LabApp.news_url = None
