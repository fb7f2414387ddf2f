"""Instructors' servers: formgrader opens inside JupyterLab, which frames it from the same origin."""
c = get_config()  # noqa: F821 (provided by Jupyter Server)
# JupyterHub's single-user default is frame-ancestors 'none', which leaves Lab's formgrader tab blank.
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
