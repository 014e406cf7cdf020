"""The foundation every stage stands on: settings, observability, logging context, embedded servers.

Imports only ``schemas`` (the contracts) and third-party libraries; stages (``crawler``, ``workers``)
and the shell (``transcrawl``) import it, never the other way round.
"""

__version__ = "0.1.0"
