"""The campus's JupyterHub: provisioning it, and sandboxing its notebook servers."""
