"""The composition root: the app (every router, the error rendering, the embedded run
executor), the server processes and the meta routes. Nothing below imports it."""
