"""The language server (``medrules lsp``): :mod:`recover` parses past syntax errors, :mod:`analysis`
answers hover, definition, completion and outline questions, :mod:`server` speaks the protocol."""
