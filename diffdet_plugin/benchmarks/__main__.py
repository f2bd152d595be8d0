"""``python -m diffdet_plugin.benchmarks SUBCOMMAND ...``: the CLI of tools/benchmark.py."""
import sys

from . import main

if __name__ == '__main__':
    sys.exit(main(prog='python -m diffdet_plugin.benchmarks'))
