"""The Kimai compatibility layer: every rule about how Kimai reads requests and writes responses.

Routes stay small by delegating here: query parameters (``params``), request bodies and forms
(``body``, ``forms``), datetimes (``datetimes``), colours and initials (``colors``), error bodies
(``errors``), JSON output (``responses``) and the emulated version (``version``).
"""
