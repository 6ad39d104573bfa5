"""``python -m benchmarks``: see ``benchmarks._cli``."""

from ._cli import main

raise SystemExit(main())
