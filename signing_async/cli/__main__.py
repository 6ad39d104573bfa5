"""``python -m signing_async.cli``: the same as the ``signing-async`` command."""

from . import main

main()
