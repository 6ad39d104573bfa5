"""The benchmark suite: the SDK side by side with hand-written raw clients.

Run it with ``python -m benchmarks`` (``--help`` lists the options) or
``nox -s bench``. A minimal local server runs in its own process on
127.0.0.1 (the real sandbox, for the bulk benchmark); every variant runs in a
fresh child process so that its CPU time and peak memory are its own;
variants alternate round by round and the report gives medians, ranges and
the SDK/baseline ratios.

Modules:
    _cli: the command line and the orchestration of one run.
    _suite: which benchmarks, cases, variants and targets exist.
    _server: the local server (DANAconnect and DANAsign endpoints).
    _sandbox: the real sandbox as the bulk benchmark's server.
    _variant: the child process that runs one variant and prints its figures.
    _workloads: the workloads themselves, SDK and raw, registered by name.
    _fleet: the fleet's workloads (a PostgreSQL and worker processes per run).
    _payloads: the PDFs and ZIPs the benchmarks send and serve.
    _report: statistics, the Markdown table, the JSON file and the chart.
    _startup: import time and the modules ``import signing_async`` pulls in.
    _opcodes: Python opcodes per item, by function (``python -m benchmarks._opcodes``).
"""
