"""How the command-line tools end: a refusal is its message, not a traceback."""
from __future__ import annotations

import os
import sys

#: Exceptions that the plugin raises to refuse bad input, each with a message that names the
#: thing and the fix (``LDMLoadError`` is a ``RuntimeError`` and is matched by name).
REFUSALS = (ValueError, KeyError, FileNotFoundError, FileExistsError, NotADirectoryError)


def _is_refusal(exc: BaseException) -> bool:
    return isinstance(exc, REFUSALS) or type(exc).__name__ == 'LDMLoadError'


def run_tool(main) -> int:
    """Run a tool's ``main()``; a refusal prints ``error: <message>`` to stderr and returns 2.

    ``--debug`` on the command line (removed before ``main`` parses it) or ``DIFFDET_DEBUG=1``
    keeps the traceback. Any other exception (a bug) propagates with its traceback.
    """
    debug = '--debug' in sys.argv[1:] or os.environ.get('DIFFDET_DEBUG', '') not in ('', '0')
    sys.argv = [a for a in sys.argv if a != '--debug']
    try:
        return main() or 0
    except Exception as e:  # noqa: BLE001 (refusals only, below)
        if debug or not _is_refusal(e):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        # the plugin's own kinds of refusal keep their name (e.g. LDMMismatchError)
        kind = '' if type(e).__module__ == 'builtins' else f'{type(e).__name__}: '
        print(f'error: {kind}{msg}', file=sys.stderr)
        print('(the traceback: run again with --debug or DIFFDET_DEBUG=1)', file=sys.stderr)
        return 2
