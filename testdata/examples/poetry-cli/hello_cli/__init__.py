"""hello: a command line tool that POETRY INSTALL --only-root installs."""
