"""pytest plugin: the ``harbour_stack`` fixture (a :class:`harbour.testing.HarbourStack`).

Registered through the ``pytest11`` entry point, so any suite that installs harbour-ledger
(with the ``testing`` extra) has the fixture. It is loaded into every such pytest run, so it
starts nothing and connects nowhere until a test asks for the fixture, and without the extra
it only says what to install; ``-p no:harbour`` unloads it.

The stack lives for the session and its channels belong to the session's event loop: run the
tests that use it in that loop (pytest-asyncio: ``asyncio_default_test_loop_scope =
"session"`` in the ini file, or ``@pytest.mark.asyncio(loop_scope="session")``). The image to
run in containers, if any, is ``HARBOUR_TESTING_IMAGE`` (see :mod:`harbour.testing`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harbour.testing import HarbourStack

try:
    import pytest_asyncio
except ImportError:  # a suite without the testing extra: the fixture says what is missing
    pytest_asyncio = None  # type: ignore[assignment]

MISSING = "the harbour_stack fixture needs the testing extra: pip install 'harbour-ledger[testing]'"


if pytest_asyncio is None:

    @pytest.fixture(scope="session")
    def harbour_stack() -> None:
        pytest.fail(MISSING)

else:

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def harbour_stack() -> AsyncIterator[HarbourStack]:
        """The whole stack, started once for the session, with ready clients."""
        try:
            from harbour.testing import harbour_stack as start
        except ImportError as missing:
            pytest.fail(f"{MISSING} ({missing})")
        async with start() as stack:
            yield stack
